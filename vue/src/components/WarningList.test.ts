import { expect, test } from 'vitest';
import { mount } from '@vue/test-utils';
import type { Warning } from 'kg-approval';
import WarningList from './WarningList.vue';

test('hundreds of no_change warnings are one line with a disclosure; a few others are listed', async () => {
  const warnings: Warning[] = [
    ...Array.from({ length: 296 }, (_, i) => ({ code: 'no_change' as const, message: `node n${i}: nothing changes`, nodeId: `n${i}` })),
    { code: 'reserved_field_ignored', message: 'updatedAt is written at approval' },
  ];
  const wrapper = mount(WarningList, { props: { warnings } });
  const toggle = wrapper.get('[data-warning-group=no_change] button');
  expect(toggle.text()).toMatch(/296 nodes unchanged/);
  expect(toggle.attributes('aria-expanded')).toBe('false');
  expect(wrapper.findAll('li').length).toBe(2);
  await toggle.trigger('click');
  expect(toggle.attributes('aria-expanded')).toBe('true');
  expect(wrapper.findAll('[data-warning-group=no_change] .members li').length).toBe(296);
  expect(wrapper.text()).toContain('updatedAt is written at approval');
});
