/**
 * How fit() steps a learning-rate scheduler: once per epoch by default, with
 * ReduceLROnPlateau given the epoch's monitored loss and the others (StepLR,
 * CosineAnnealingLR, ...) no argument; OneCycleLR, whose schedule is counted in
 * batches, after every optimizer step (as in PyTorch), as any scheduler can be
 * with schedulerInterval: 'batch'.
 */
import { expected } from '../check';
import { OneCycleLR, ReduceLROnPlateau } from '../optim/lr_scheduler';

export type SchedulerInterval = 'epoch' | 'batch';

/** A tg.optim scheduler, or anything with step() to call once per epoch. */
export type Scheduler = { step(): unknown } | ReduceLROnPlateau;

export function isPlateauScheduler(s: Scheduler): s is ReduceLROnPlateau {
  return s instanceof ReduceLROnPlateau;
}

/** Checks fit()'s scheduler and schedulerInterval; the interval to use (null without a scheduler). */
export function checkScheduler(op: string, scheduler: unknown, interval: unknown): SchedulerInterval | null {
  if (scheduler === undefined) {
    if (interval !== undefined) expected(TypeError, op, 'a scheduler to go with it', 'schedulerInterval', interval);
    return null;
  }
  if (typeof scheduler !== 'object' || scheduler === null || typeof (scheduler as Scheduler).step !== 'function') {
    expected(TypeError, op, 'a learning-rate scheduler (with step())', 'scheduler', scheduler);
  }
  if (interval === undefined) return scheduler instanceof OneCycleLR ? 'batch' : 'epoch';
  if (interval !== 'epoch' && interval !== 'batch') expected(TypeError, op, "'epoch' or 'batch'", 'schedulerInterval', interval);
  if (interval === 'batch' && scheduler instanceof ReduceLROnPlateau) {
    expected(TypeError, op, "'epoch' for ReduceLROnPlateau (it needs the epoch's loss)", 'schedulerInterval', interval);
  }
  return interval;
}
