/**
 * The read load (autocannon), in a child process of the benchmark (forked, IPC): the benchmark's own
 * event loop decrypts and checks job results, and a latency measured there would carry those pauses (a
 * worker thread will not do: autocannon inside a worker thread takes itself for one of its own workers
 * and returns raw histograms). One autocannon instance per endpoint, all at once, each at a fixed rate,
 * so every endpoint has its own percentiles. The first message is the input; later ones ({ ids }) keep
 * the job-status reads on recent jobs.
 */
import autocannon from 'autocannon';

export interface EndpointLoad {
  name: string;
  /** path with query, or the marker `:job` replaced by a recent job id per request */
  path: string;
  token?: string;
}

export interface LoadClientInput {
  url: string;
  endpoints: EndpointLoad[];
  seconds: number;
  /** requests per second per endpoint */
  rate: number;
  connections: number;
  ids: string[];
}

export interface EndpointResult {
  name: string;
  path: string;
  requests: number;
  reqPerSec: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
}

async function main(input: LoadClientInput): Promise<EndpointResult[]> {
  let ids = input.ids;
  let k = 0;
  process.on('message', (m: { ids?: string[] }) => {
    if (m.ids?.length) ids = m.ids;
  });
  const runs = input.endpoints.map(async (e): Promise<EndpointResult> => {
    const headers: Record<string, string> = e.token ? { authorization: `Bearer ${e.token}` } : {};
    const r = await autocannon({
      url: input.url,
      connections: input.connections,
      overallRate: input.rate,
      duration: input.seconds,
      timeout: 10,
      requests: [
        {
          method: 'GET',
          headers,
          setupRequest: (req) => ({
            ...req,
            path: e.path.replace(':job', encodeURIComponent(ids[k++ % Math.max(1, ids.length)] ?? 'none')),
          }),
        },
      ],
    });
    const codes: Record<string, { count?: number }> = r.statusCodeStats ?? {};
    return {
      name: e.name,
      path: e.path,
      requests: r.requests.total,
      reqPerSec: r.requests.total / r.duration,
      p50: r.latency.p50,
      p90: r.latency.p90,
      p99: r.latency.p99,
      max: r.latency.max,
      mean: r.latency.average,
      errors: r.errors,
      timeouts: r.timeouts,
      non2xx: r.non2xx,
      statusCodes: Object.fromEntries(Object.entries(codes).map(([c, s]) => [c, s.count ?? 0])),
    };
  });
  return Promise.all(runs);
}

if (process.send) {
  process.once('message', (input: LoadClientInput) => {
    main(input).then(
      (results) => process.send!({ results }, () => process.exit(0)),
      (e: unknown) => process.send!({ error: e instanceof Error ? e.message : String(e) }, () => process.exit(1)),
    );
  });
}
