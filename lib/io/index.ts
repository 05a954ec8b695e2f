/** Checkpoints: tg.save / tg.load in the safetensors format. */
export { save, saveSync, load, loadSync } from './safetensors';
export type { Checkpoint, StateDict } from './safetensors';
