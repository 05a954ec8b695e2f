/** Sequential and ModuleList: modules registered under their index. */
import { checkInteger, expected } from '../check';
import type { Tensor } from '../tensor';
import { Module } from './module';

/** Runs its layers in order, each on the previous one's output. */
export class Sequential extends Module {
  readonly #layers: Module[] = [];

  constructor(...layers: Module[]) {
    super();
    layers.forEach((m, i) => {
      if (!(m instanceof Module)) expected(TypeError, 'Sequential', 'a Module', `layers[${i}]`, m);
      this.append(m);
    });
  }

  append(m: Module): this {
    if (!(m instanceof Module)) expected(TypeError, 'Sequential.append', 'a Module', 'module', m);
    this.#layers.push(this.registerModule(String(this.#layers.length), m));
    return this;
  }

  get length(): number {
    return this.#layers.length;
  }

  /** The layer at index (negative counts from the end). */
  at(index: number): Module {
    checkInteger('Sequential.at', 'index', index);
    const m = this.#layers.at(index);
    if (m === undefined) throw new RangeError(`Sequential.at: index ${index} is out of range for ${this.#layers.length} layers`);
    return m;
  }

  [Symbol.iterator](): IterableIterator<Module> {
    return this.#layers[Symbol.iterator]();
  }

  forward(input: Tensor): Tensor {
    return this.#layers.reduce((x, layer) => layer.forward(x), input);
  }
}

/** A list of modules whose parameters belong to the parent; it has no forward of its own. */
export class ModuleList extends Module {
  readonly #items: Module[] = [];

  constructor(modules: Iterable<Module> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  append(m: Module): this {
    if (!(m instanceof Module)) expected(TypeError, 'ModuleList.append', 'a Module', 'module', m);
    this.#items.push(this.registerModule(String(this.#items.length), m));
    return this;
  }

  get length(): number {
    return this.#items.length;
  }

  at(index: number): Module {
    checkInteger('ModuleList.at', 'index', index);
    const m = this.#items.at(index);
    if (m === undefined) throw new RangeError(`ModuleList.at: index ${index} is out of range for ${this.#items.length} modules`);
    return m;
  }

  [Symbol.iterator](): IterableIterator<Module> {
    return this.#items[Symbol.iterator]();
  }

  forward(): Tensor {
    throw new TypeError('ModuleList: a ModuleList has no forward(); call the modules it holds');
  }
}
