import { afterEach, expect, test } from 'vitest';
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import ReviewModal from './ReviewModal.vue';
import { change, review } from './testing';

let wrapper: VueWrapper | null = null;
afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
  document.body.innerHTML = '';
});

const press = (key: string, target: Element = document.activeElement ?? document.body) =>
  target.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true, shiftKey: key.length === 1 && key !== key.toLowerCase() }));
const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 5)));
const focused = () => (document.activeElement as HTMLElement | null)?.closest<HTMLElement>('[data-change]')?.dataset.change;

async function open(changes = [change('node/a/label'), change('node/a/info'), change('node/b/label')]) {
  wrapper = mount(ReviewModal, { props: { review: review(changes) }, attachTo: document.body });
  await flushPromises();
  await frame();
  return wrapper;
}

test('focus opens on the first undecided change; a and r decide it and move on; Approve waits for every decision', async () => {
  const w = await open([change('node/a/label', { accepted: true }), change('node/a/info'), change('node/b/label')]);
  expect(focused()).toBe('node/a/info');
  expect(w.get('[data-test=approve]').attributes('disabled')).toBeDefined();
  expect(w.get('[data-test=to-decide]').text()).toMatch(/2 changes to decide/);
  press('a');
  await flushPromises();
  expect(focused()).toBe('node/b/label');
  press('r');
  await flushPromises();
  await frame();
  expect(w.emitted('decide')).toEqual([['node/a/info', true], ['node/b/label', false]]);
});

test('Shift+A accepts the node of the current change; j and k move between undecided changes', async () => {
  const w = await open();
  expect(focused()).toBe('node/a/label');
  press('j');
  await flushPromises();
  expect(focused()).toBe('node/a/info');
  press('k');
  await flushPromises();
  expect(focused()).toBe('node/a/label');
  press('A');
  await flushPromises();
  expect(focused()).toBe('node/b/label');
  await frame();
  expect(w.emitted('decide-node')).toEqual([['a', true]]);
});

test('? lists the keys; Escape closes the list, then (nothing decided) the modal', async () => {
  const w = await open();
  press('?');
  await flushPromises();
  expect(w.get('[data-test=keys]').text()).toMatch(/accept the current change/);
  press('Escape');
  await flushPromises();
  expect(w.find('[data-test=keys]').exists()).toBe(false);
  expect(w.emitted('cancel')).toBeUndefined();
  press('Escape');
  expect(w.emitted('cancel')).toHaveLength(1);
});

test('a big review: / goes to Search, Escape there clears the search and does not offer to discard', async () => {
  const many = Array.from({ length: 30 }, (_, i) => change(`node/n${i}/label`));
  const w = await open(many);
  press('a');
  await flushPromises();
  press('/');
  await flushPromises();
  const search = w.get('[data-test=filter-query]').element as HTMLInputElement;
  expect(document.activeElement).toBe(search);
  await w.get('[data-test=filter-query]').setValue('n2');
  expect(w.get('[data-test=shown-count]').text()).toMatch(/^11 nodes/);
  press('Escape', search);
  await flushPromises();
  expect(search.value).toBe('');
  expect(w.find('[data-test=discard-confirm]').exists()).toBe(false);
  expect(w.emitted('cancel')).toBeUndefined();
});

test('without a decide listener the modal keeps its decisions (uncontrolled) and approve reports them; with one, it shows the review it is given', async () => {
  const w = await open([change('node/a/label'), change('node/b/label')]);
  press('a');
  await flushPromises();
  press('r');
  await flushPromises();
  await frame();
  await frame();
  // Still shown a frame later: nobody gave a new review, and nobody needs to.
  expect(w.findAll('input[type=radio][data-accept]').map((r) => (r.element as HTMLInputElement).checked)).toEqual([true, false]);
  await w.get('[data-test=approve]').trigger('click');
  expect(w.emitted('approve')?.[0]).toEqual(['', { accepted: ['node/a/label'], rejected: ['node/b/label'] }]);
  // A new review: its own decisions, none kept from the last one.
  await w.setProps({ review: review([change('node/a/label'), change('node/b/label')]) });
  await flushPromises();
  expect(w.findAll('input[type=radio][data-accept]').map((r) => (r.element as HTMLInputElement).checked)).toEqual([false, false]);

  // Controlled: the decision shows until the parent's review (here: never updated) says otherwise.
  w.unmount();
  wrapper = mount(ReviewModal, { props: { review: review([change('node/a/label')]), onDecide: () => undefined }, attachTo: document.body });
  await flushPromises();
  await frame();
  press('a');
  await flushPromises();
  expect((wrapper.get('input[type=radio][data-accept]').element as HTMLInputElement).checked).toBe(true);
  await frame();
  await frame();
  await flushPromises();
  expect((wrapper.get('input[type=radio][data-accept]').element as HTMLInputElement).checked).toBe(false);
});
