import { test, expect } from 'vitest';
import * as tg from '../lib/index';

test('smoke', () => {
  const x = tg.tensor([[1, 2], [3, 4]]);
  const w = tg.randn([2, 3], { requiresGrad: true, seed: 0 });
  const y = x.matmul(w).relu().sum();
  y.backward();
  console.log(x.toString(), w.toString(), y.toString(), w.grad!.toString());
  console.log(tg.arange(5).toString(), tg.linspace(0, 1, 5).toString(), tg.eye(3).toString());
  const a = tg.randn([3, 4], { seed: 1 });
  console.log(a.softmax(1).toString(), a.sum(1).toString(), a.max(0).toString(), a.argmax(1).toString());
  console.log(a.transpose(0, 1).toString(), a.slice(1, 0, 4, 2).toString(), tg.cat([a, a], 0).shape);
  console.log(tg.cpuInfo(), tg.memory());
  expect(1).toBe(1);
});
