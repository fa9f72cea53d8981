import type { Report } from './report.js';
import type { RssSampler } from './rss.js';

/** What every benchmark section gets. `shared` carries figures one section hands to a later one. */
export interface BenchContext {
  report: Report;
  rss: RssSampler;
  quick: boolean;
  /** a temporary directory for key files, removed at the end */
  dir: string;
  shared: {
    /** item 1 at 10^5: HE stage (provider encryption + broker evaluation + consumer decryption), ms */
    waterHeStageMs?: number;
    waterHeStageRows?: number;
    waterTotalMs?: number;
    /** CPU time (all threads) of the same job, submission to decrypted result */
    waterCpuMs?: number;
  };
}
