import { describe, expect, test } from 'vitest';
import * as tg from '../lib/index';

describe('memory', () => {
  test('20,000 training steps with no dispose call keep native memory flat', () => {
    const x = tg.randn([8, 4], { seed: 1 });
    const y = tg.randn([8, 3], { seed: 2 });
    let w1 = tg.randn([4, 16], { seed: 3 }).mul(0.3).detach().requiresGrad_();
    let w2 = tg.randn([16, 3], { seed: 4 }).mul(0.3).detach().requiresGrad_();
    const samples: number[] = [];
    let first = 0;
    let last = 0;
    for (let step = 0; step < 20_000; step++) {
      const loss = x.matmul(w1).relu().matmul(w2).sub(y).square().mean();
      loss.backward();
      tg.noGrad(() => {
        w1 = w1.sub(w1.grad!.mul(0.05)).requiresGrad_();
        w2 = w2.sub(w2.grad!.mul(0.05)).requiresGrad_();
      });
      if (step === 0) first = loss.item();
      if (step === 19_999) last = loss.item();
      if (step % 1000 === 999) samples.push(tg.memory().cpuBytes);
    }
    expect(last).toBeLessThan(first * 0.1); // it trained
    // One step allocates about 4 KB of tensors; without collection 20,000 steps would
    // hold 90 MB. Memory must stay bounded by a few hundred steps' worth, and the
    // second half of the run must not hold more than the first.
    const bound = 2 * 1024 * 1024;
    expect(Math.max(...samples)).toBeLessThan(bound);
    const firstHalf = Math.max(...samples.slice(0, 10));
    const secondHalf = Math.max(...samples.slice(10));
    expect(secondHalf).toBeLessThan(firstHalf + bound / 2);
  });

  test('dispose frees at once and the tensor then refuses use', () => {
    const before = tg.memory().cpuBytes;
    const t = tg.zeros([1000, 100]);
    expect(tg.memory().cpuBytes - before).toBe(400_000);
    const view = t.reshape([100, 1000]);
    t.dispose();
    expect(t.disposed).toBe(true);
    expect(view.disposed).toBe(false); // the view still holds the storage
    view[Symbol.dispose]();
    expect(tg.memory().cpuBytes - before).toBe(0);
    expect(() => t.add(1)).toThrow(tg.DisposedError);
    t.dispose(); // a second dispose is harmless
  });
});
