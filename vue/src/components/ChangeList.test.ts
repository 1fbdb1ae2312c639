import { expect, test } from 'vitest';
import { mount } from '@vue/test-utils';
import ChangeList from './ChangeList.vue';
import { change } from './testing';

test('explicit decisions: an undecided change offers Accept and Reject, neither chosen', async () => {
  const wrapper = mount(ChangeList, { props: { changes: [change('node/a/label'), change('node/a/info', { accepted: true })], editable: true, decisions: 'explicit' } });
  const accept = wrapper.get('[data-accept="node/a/label"]');
  const reject = wrapper.get('[data-reject="node/a/label"]');
  expect([(accept.element as HTMLInputElement).checked, (reject.element as HTMLInputElement).checked]).toEqual([false, false]);
  expect(wrapper.get('[data-change="node/a/label"]').attributes('data-decision')).toBe('undecided');
  expect((wrapper.get('[data-accept="node/a/info"]').element as HTMLInputElement).checked).toBe(true);
  await reject.setValue(true);
  expect(wrapper.emitted('decide')).toEqual([['node/a/label', false]]);
  expect(wrapper.get('[data-test=group-state]').text()).toMatch(/not yet decided · 1 accepted, 0 rejected of 2/);
});

test('decisions accepted by default: one checkbox per change, named by field and node', () => {
  const wrapper = mount(ChangeList, { props: { changes: [change('node/a/label', { accepted: true })], editable: true } });
  const box = wrapper.get('input[type=checkbox][data-accept="node/a/label"]');
  expect(box.attributes('aria-label')).toBe('Accept label of node “Label a”');
});

test('a conflict shows base, theirs and yours, decided with Keep mine / Keep theirs', async () => {
  const conflicted = change('node/a/label', { old: 'Theirs', new: 'Mine', accepted: false, conflict: { base: 'Base', resolved: false } });
  const wrapper = mount(ChangeList, { props: { changes: [conflicted], editable: true, decisions: 'explicit' } });
  const sides = wrapper.findAll('[data-test=conflict-values] [data-side]').map((d) => [d.attributes('data-side'), d.get('dd').text()]);
  expect(sides).toEqual([['base', 'Base'], ['theirs', 'Theirs'], ['yours', 'Mine']]);
  expect(wrapper.find('[data-accept]').exists()).toBe(false);
  await wrapper.get('[data-test=keep-theirs]').trigger('click');
  expect(wrapper.emitted('decide')).toEqual([['node/a/label', false]]);
});

test('read-only (the history view): no controls, nothing focusable per change', () => {
  const wrapper = mount(ChangeList, { props: { changes: [change('node/a/label', { accepted: true })] } });
  expect(wrapper.find('input, button').exists()).toBe(false);
  expect(wrapper.get('[data-change]').attributes('tabindex')).toBeUndefined();
});

test("a change shows the AI's rationale beside it, as text (never HTML)", () => {
  const rationale = 'The source says <b>Fjord</b> & <img src=x onerror=alert(1)>';
  const wrapper = mount(ChangeList, { props: { changes: [change('node/a/label', { accepted: true, rationale }), change('node/a/info', { accepted: true })] } });
  const shown = wrapper.get('[data-change="node/a/label"] [data-test=rationale]');
  expect(shown.text()).toBe(`AI's reason ${rationale}`);
  expect(shown.find('b, img').exists()).toBe(false);
  expect(wrapper.find('[data-change="node/a/info"] [data-test=rationale]').exists()).toBe(false);
});
