/**
 * Optimizers: plain update rules over float64 master copies of the parameters.
 *
 * Why float64 masters: the network runs in float32, but late in training the updates of a weight
 * near 1 are far below float32's resolution (6e-8) and would round away, stalling convergence
 * short of the exact optimum. So the optimizer updates float64 copies and the trainer rounds them
 * into the layers' float32 arrays after each step (the usual mixed-precision recipe).
 */

export interface Optimizer {
  readonly name: 'adam' | 'sgd';
  /** One update of every parameter from its gradient, with learning rate `lr`. */
  step(values: Float64Array[], grads: ArrayLike<number>[], lr: number): void;
}

/**
 * Adam (Kingma & Ba 2015) with bias correction. eps is 1e-12, not the usual 1e-8: for a filter
 * a kernel reproduces exactly, the (scaled) gradients shrink towards 0 at the optimum, and a
 * larger eps would turn the last stretch into very slow plain gradient descent.
 */
export class Adam implements Optimizer {
  readonly name = 'adam';
  private m: Float64Array[] = [];
  private v: Float64Array[] = [];
  private t = 0;

  constructor(private readonly beta1 = 0.9, private readonly beta2 = 0.999, private readonly eps = 1e-12) {}

  step(values: Float64Array[], grads: ArrayLike<number>[], lr: number): void {
    if (this.m.length === 0) {
      this.m = values.map((v) => new Float64Array(v.length));
      this.v = values.map((v) => new Float64Array(v.length));
    }
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    for (let k = 0; k < values.length; k++) {
      const w = values[k], g = grads[k], m = this.m[k], v = this.v[k];
      for (let i = 0; i < w.length; i++) {
        m[i] = this.beta1 * m[i] + (1 - this.beta1) * g[i];
        v[i] = this.beta2 * v[i] + (1 - this.beta2) * g[i] * g[i];
        w[i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + this.eps);
      }
    }
  }
}

/** SGD with heavy-ball momentum: u = momentum u + g; w -= lr u. */
export class Sgd implements Optimizer {
  readonly name = 'sgd';
  private u: Float64Array[] = [];

  constructor(private readonly momentum = 0.9) {}

  step(values: Float64Array[], grads: ArrayLike<number>[], lr: number): void {
    if (this.u.length === 0) this.u = values.map((v) => new Float64Array(v.length));
    for (let k = 0; k < values.length; k++) {
      const w = values[k], g = grads[k], u = this.u[k];
      for (let i = 0; i < w.length; i++) {
        u[i] = this.momentum * u[i] + g[i];
        w[i] -= lr * u[i];
      }
    }
  }
}
