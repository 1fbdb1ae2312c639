// Decisions show at once and reach the session just after the next frame: a
// new review from the session takes milliseconds to tens of milliseconds on a
// big proposal, and the reviewer should see the control move in this frame,
// not after it. Decisions made within one frame are sent together, in order.
//
// Controlled (the parent listens and passes the session's review back), a
// decision shows until it is sent; uncontrolled (`keep()` true: nobody
// listens), the buffer keeps every decision for the review it was made on.
import { computed, onBeforeUnmount, shallowReactive, type ComputedRef } from 'vue';
import type { Change } from 'kg-approval';
import { nextFrame } from './dom';

export interface DecisionSink {
  decide(changeId: string, accept: boolean): void;
  decideNode(nodeId: string, accept: boolean): void;
  decideMany(changeIds: string[], accept: boolean, how: { filter: string }): void;
}

export interface DecisionBuffer {
  /** The review's changes with the decisions not sent yet applied. */
  changes: ComputedRef<Change[]>;
  /** Ids of the changes decided in this buffer's lifetime (one change, its node, or a bulk action). */
  touched: Set<string>;
  decide(changeId: string, accept: boolean): void;
  decideNode(nodeId: string, accept: boolean): void;
  decideMany(changeIds: string[], accept: boolean, how: { filter: string }): void;
  /** Sends what is queued now (before approving). */
  flush(): void;
  /** Forgets what is queued (the review is being discarded). */
  drop(): void;
  /** Forgets the decisions kept (uncontrolled: a new review was given). */
  reset(): void;
}

export function useDecisionBuffer(source: () => readonly Change[], sink: DecisionSink, keep: () => boolean = () => false): DecisionBuffer {
  const overrides = shallowReactive(new Map<string, boolean>());
  const touched = shallowReactive(new Set<string>());
  let queued: (() => void)[] = [];
  let scheduled = false;

  function later(send: () => void) {
    queued.push(send);
    if (scheduled) return;
    scheduled = true;
    nextFrame(() => setTimeout(flush));
  }
  function flush() {
    scheduled = false;
    const sends = queued;
    queued = [];
    try {
      for (const send of sends) send();
    } finally {
      if (!keep()) overrides.clear();
    }
  }
  function drop() {
    queued = [];
  }
  onBeforeUnmount(drop);

  const changes = computed(() => {
    const list = source();
    if (!overrides.size) return list as Change[];
    return list.map((c) => (overrides.has(c.id) && overrides.get(c.id) !== c.accepted ? { ...c, accepted: overrides.get(c.id) as boolean } : c));
  });

  function mark(ids: Iterable<string>, accept: boolean) {
    for (const id of ids) {
      overrides.set(id, accept);
      touched.add(id);
    }
  }

  return {
    changes,
    touched,
    flush,
    drop,
    reset() {
      overrides.clear();
      touched.clear();
    },
    decide(changeId, accept) {
      mark([changeId], accept);
      later(() => sink.decide(changeId, accept));
    },
    decideNode(nodeId, accept) {
      mark(
        source().filter((c) => c.target === 'node' && c.nodeId === nodeId).map((c) => c.id),
        accept,
      );
      later(() => sink.decideNode(nodeId, accept));
    },
    decideMany(changeIds, accept, how) {
      mark(changeIds, accept);
      later(() => sink.decideMany(changeIds, accept, how));
    },
  };
}
