import { Rng, type RngState } from '../core/rng.ts';

/**
 * The order in which a run visits its training units, one shuffled permutation per epoch.
 * Epoch e's permutation is drawn from its own generator (`fork('epoch:e')` of the seed), so
 * the order is a pure function of seed and epoch; a checkpoint stores the generator the next
 * step's epoch draws from ({@link DataOrder.generatorAt}), and a resumed run draws from that
 * stored state ({@link DataOrder.resume}) rather than deriving it again.
 */
export class DataOrder {
  private epoch = -1;
  private drawnFrom: RngState | undefined;
  private order: number[] = [];
  private resumed: { epoch: number; rng: RngState } | undefined;

  constructor(
    private readonly size: number,
    private readonly seed: number,
    private readonly shuffle: boolean,
  ) {}

  /** Continues a run: epoch `epoch` draws its order from `rng` (as a checkpoint saved it). */
  resume(epoch: number, rng: RngState): void {
    this.resumed = { epoch, rng };
  }

  /** The state of the generator epoch `epoch`'s order is drawn from. */
  generatorAt(epoch: number): RngState {
    if (epoch === this.epoch && this.drawnFrom) return this.drawnFrom;
    if (epoch === this.resumed?.epoch) return this.resumed.rng;
    return new Rng(this.seed).fork(`epoch:${epoch}`).getState();
  }

  /** `count` units of epoch `epoch`'s order, from `offset`. */
  units(epoch: number, offset: number, count: number): number[] {
    if (epoch !== this.epoch) {
      this.drawnFrom = this.generatorAt(epoch);
      this.order = Array.from({ length: this.size }, (_, i) => i);
      if (this.shuffle) generator(this.drawnFrom).shuffle(this.order);
      this.epoch = epoch;
    }
    return this.order.slice(offset, offset + count);
  }
}

function generator(state: RngState): Rng {
  const rng = new Rng();
  rng.setState(state);
  return rng;
}
