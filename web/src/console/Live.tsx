// Live figures (GET /admin/metrics) as charts over the time the page is open, and the map
// of providers online and open requests (GET /admin/map), both polled every few seconds.
import { useEffect, useState } from "preact/hooks";
import { ok, type Schemas } from "../lib/api";
import { useCtx } from "../app/ctx";
import { MapView, type Marker } from "../lib/map";

const POLL_MS = 3000;
const KEEP = 100; // samples per chart (5 minutes at 3 s)

type Figure = "providers_online" | "open_requests" | "jobs_today" | "median_accept_s";
const FIGURES: { key: Figure; title: string; unit?: string }[] = [
  { key: "providers_online", title: "Providers online" },
  { key: "open_requests", title: "Open requests" },
  { key: "jobs_today", title: "Jobs today" },
  { key: "median_accept_s", title: "Median time to accept today", unit: "s" },
];

interface Sample {
  at: number;
  values: Record<Figure, number | null>;
}

export function Live() {
  const { api } = useCtx();
  const [samples, setSamples] = useState<Sample[]>([]);
  const [map, setMap] = useState<Schemas["MapOut"]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    let stopped = false;
    async function poll() {
      try {
        const [m, where] = await Promise.all([api.GET("/admin/metrics"), api.GET("/admin/map")]);
        const figures = ok(m);
        if (stopped) return;
        const sample: Sample = {
          at: Date.parse(figures.at),
          values: {
            providers_online: figures.providers_online,
            open_requests: figures.open_requests,
            jobs_today: figures.jobs_today,
            median_accept_s: figures.median_accept_s ?? null,
          },
        };
        setSamples((s) => [...s, sample].slice(-KEEP));
        setMap(ok(where));
        setError(undefined);
      } catch (e) {
        setError((e as Error).message);
      }
    }
    void poll();
    const timer = setInterval(() => void poll(), POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);
  const markers: Marker[] = [
    ...(map?.providers ?? []).map((p) => ({ id: `p-${p.id}`, lat: p.lat, lng: p.lng, kind: "provider" as const })),
    ...(map?.requests ?? []).map((r) => ({ id: `r-${r.id}`, lat: r.lat, lng: r.lng, kind: "request" as const })),
  ];
  return (
    <section class="card" aria-label="Live">
      <h2>Live</h2>
      {error && <p class="error" role="alert">{error}</p>}
      <div class="charts">
        {FIGURES.map((f) => (
          <Chart key={f.key} figure={f.key} title={f.title} unit={f.unit} samples={samples} />
        ))}
      </div>
      <h3>
        Map: <span data-testid="map-providers">{map?.providers.length ?? 0}</span> providers online,{" "}
        <span data-testid="map-requests">{map?.requests.length ?? 0}</span> open requests
        {map?.truncated ? " (capped)" : ""}
      </h3>
      <MapView markers={markers} label="Providers online and open requests" />
      <p class="hint">
        <span class="dot provider" /> provider online · <span class="dot request" /> open request · refreshed every{" "}
        {POLL_MS / 1000} s
      </p>
    </section>
  );
}

const CW = 300;
const CH = 80;

function Chart(props: { figure: Figure; title: string; unit?: string; samples: Sample[] }) {
  const points = props.samples.filter((s) => s.values[props.figure] !== null);
  const last = props.samples.length ? props.samples[props.samples.length - 1].values[props.figure] : undefined;
  const values = points.map((s) => s.values[props.figure] as number);
  const top = Math.max(1, ...values) * 1.1;
  const first = points.length ? points[0].at : 0;
  const span = Math.max(1, (points.length ? points[points.length - 1].at : 0) - first);
  const line = points
    .map((s, i) => {
      const px = points.length === 1 ? CW : ((s.at - first) / span) * CW;
      const py = CH - ((s.values[props.figure] as number) / top) * CH;
      return `${i ? "L" : "M"}${px.toFixed(1)},${py.toFixed(1)}`;
    })
    .join("");
  const shown = last === undefined ? "…" : last === null ? "—" : `${last}${props.unit ?? ""}`;
  return (
    <figure class="chart" data-testid={`metric-${props.figure}`}>
      <figcaption>
        {props.title} <strong data-testid="value">{shown}</strong>
      </figcaption>
      <svg viewBox={`-4 -4 ${CW + 8} ${CH + 8}`} role="img" aria-label={`${props.title} over time`}>
        <line x1={0} y1={CH} x2={CW} y2={CH} stroke="#d1d5db" />
        <text x={0} y={8} font-size={10} fill="#6b7280">
          {Math.round(top)}
        </text>
        {line && <path d={line} fill="none" stroke="#0f766e" stroke-width={2} />}
        {points.length > 0 && (
          <circle cx={CW} cy={CH - (values[values.length - 1] / top) * CH} r={3} fill="#0f766e" />
        )}
      </svg>
    </figure>
  );
}
