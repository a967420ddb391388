// An offline map: an equirectangular projection of lat/lng onto SVG, with the bundled
// outline of the demo city. Click to pick a place; markers for people and requests.
import { useMemo, useState } from "preact/hooks";
import { AIRPORT, BOUNDS, GREEN, PLACES, ROADS, WATER, type Ring } from "./lisbon";

export interface Marker {
  id: string;
  lat: number;
  lng: number;
  kind: "me" | "provider" | "request" | "pick" | "job";
  label?: string;
}

const W = 1000;
const COS = Math.cos((38.72 * Math.PI) / 180);
const H = Math.round(((BOUNDS.north - BOUNDS.south) / ((BOUNDS.east - BOUNDS.west) * COS)) * W);

function x(lng: number): number {
  return ((lng - BOUNDS.west) / (BOUNDS.east - BOUNDS.west)) * W;
}
function y(lat: number): number {
  return ((BOUNDS.north - lat) / (BOUNDS.north - BOUNDS.south)) * H;
}
function path(ring: Ring, close = true): string {
  return ring.map(([lng, lat], i) => `${i ? "L" : "M"}${x(lng).toFixed(1)},${y(lat).toFixed(1)}`).join("") + (close ? "Z" : "");
}

const COLORS: Record<Marker["kind"], string> = {
  me: "#2563eb",
  provider: "#0f766e",
  request: "#c2410c",
  pick: "#c2410c",
  job: "#7c3aed",
};

export function MapView(props: {
  markers: Marker[];
  center?: { lat: number; lng: number };
  onPick?: (p: { lat: number; lng: number }) => void;
  label?: string;
}) {
  const [zoom, setZoom] = useState(3);
  const c = props.center ?? { lat: 38.7223, lng: -9.1393 };
  const vw = W / zoom;
  const vh = H / zoom;
  const vx = Math.min(Math.max(x(c.lng) - vw / 2, 0), W - vw);
  const vy = Math.min(Math.max(y(c.lat) - vh / 2, 0), H - vh);
  const base = useMemo(
    () => (
      <g>
        <rect x={0} y={0} width={W} height={H} fill="#f4f1ea" />
        {GREEN.map((r, i) => <path key={`g${i}`} d={path(r)} fill="#d9ead3" />)}
        <path d={path(AIRPORT)} fill="#e5e7eb" />
        {ROADS.map((r, i) => <path key={`r${i}`} d={path(r, false)} fill="none" stroke="#fff" stroke-width={4} />)}
        {WATER.map((r, i) => <path key={`w${i}`} d={path(r)} fill="#a9cce3" />)}
      </g>
    ),
    [],
  );
  const r = 9 / Math.sqrt(zoom);
  function click(ev: MouseEvent) {
    if (!props.onPick) return;
    const svg = ev.currentTarget as SVGSVGElement;
    const box = svg.getBoundingClientRect();
    const px = vx + ((ev.clientX - box.left) / box.width) * vw;
    const py = vy + ((ev.clientY - box.top) / box.height) * vh;
    const lng = BOUNDS.west + (px / W) * (BOUNDS.east - BOUNDS.west);
    const lat = BOUNDS.north - (py / H) * (BOUNDS.north - BOUNDS.south);
    props.onPick({ lat: Math.round(lat * 1e5) / 1e5, lng: Math.round(lng * 1e5) / 1e5 });
  }
  return (
    <div class="map">
      <svg
        viewBox={`${vx} ${vy} ${vw} ${vh}`}
        role="img"
        aria-label={props.label ?? "Map"}
        onClick={click}
        preserveAspectRatio="xMidYMid slice"
      >
        {base}
        {PLACES.map((p) => (
          <text x={x(p.lng)} y={y(p.lat)} font-size={14 / Math.sqrt(zoom)} fill="#6b7280" text-anchor="middle">
            {p.name}
          </text>
        ))}
        {props.markers.map((m) => (
          <g key={m.id} data-marker={m.kind} data-id={m.id} data-lat={m.lat} data-lng={m.lng}>
            <circle cx={x(m.lng)} cy={y(m.lat)} r={m.kind === "provider" ? r * 0.6 : r} fill={COLORS[m.kind]} stroke="#fff" stroke-width={2 / Math.sqrt(zoom)} />
            {m.label && (
              <text x={x(m.lng)} y={y(m.lat) - r * 1.4} font-size={13 / Math.sqrt(zoom)} text-anchor="middle" fill="#111827">
                {m.label}
              </text>
            )}
          </g>
        ))}
      </svg>
      <div class="zoom">
        <button type="button" aria-label="Zoom in" onClick={() => setZoom((z) => Math.min(z * 1.5, 12))}>+</button>
        <button type="button" aria-label="Zoom out" onClick={() => setZoom((z) => Math.max(z / 1.5, 1))}>−</button>
      </div>
    </div>
  );
}
