// A job, for its customer or its provider: state and next steps, the live map, chat,
// the drive simulation (provider), the review once completed.
import { useEffect, useRef, useState } from "preact/hooks";
import { ok, type Schemas } from "../lib/api";
import { MapView, type Marker } from "../lib/map";
import { Chat } from "./Chat";
import { fmtMoney, useCtx } from "./ctx";

type Job = Schemas["JobOut"];

const LABELS: Record<string, string> = {
  en_route: "On my way",
  arrived: "Arrived",
  in_progress: "Start work",
  completed: "Complete",
  cancelled: "Cancel job",
};

export function JobPanel(props: { job: Job; role: "customer" | "provider"; onChange: (j: Job) => void; from?: { lat: number; lng: number } }) {
  const { api, live, subscribe, notice } = useCtx();
  const job = props.job;
  const [where, setWhere] = useState<{ lat: number; lng: number } | null>(null);
  const [driving, setDriving] = useState(false);
  const timer = useRef<number | undefined>(undefined);

  useEffect(() => {
    const off = subscribe((f) => {
      if (f.type === "job.location" && f.data.job_id === job.id) setWhere({ lat: f.data.lat, lng: f.data.lng });
      if (f.type === "job.updated" && f.data.id === job.id)
        void api.GET("/jobs/{job_id}", { params: { path: { job_id: job.id } } }).then((r) => props.onChange(ok(r)));
    });
    if (props.role === "customer")
      void api.GET("/jobs/{job_id}/location", { params: { path: { job_id: job.id } } }).then((r) => {
        if (r.data) setWhere({ lat: r.data.lat, lng: r.data.lng });
      });
    return () => {
      off();
      window.clearInterval(timer.current);
    };
  }, [job.id]);

  async function move(to: string) {
    try {
      const res = await api.POST("/jobs/{job_id}/transitions", { params: { path: { job_id: job.id } }, body: { to: to as Schemas["TransitionIn"]["to"] } });
      props.onChange(ok(res));
    } catch (e) {
      notice(String((e as Error).message));
    }
  }

  function drive() {
    // From about 2.5 km north-east of the job (or the provider's base when it is farther).
    const base = props.from ?? job.location;
    const far = Math.abs(base.lat - job.location.lat) + Math.abs(base.lng - job.location.lng) > 0.01;
    const start = far ? base : { lat: job.location.lat + 0.015, lng: job.location.lng + 0.02 };
    const steps = 12;
    let i = 0;
    setDriving(true);
    window.clearInterval(timer.current);
    timer.current = window.setInterval(() => {
      i++;
      const t = Math.min(i / steps, 1);
      const p = { lat: start.lat + (job.location.lat - start.lat) * t, lng: start.lng + (job.location.lng - start.lng) * t };
      setWhere(p);
      live.send({ action: "location.update", job_id: job.id, lat: p.lat, lng: p.lng, speed_mps: 8 });
      if (t >= 1) {
        window.clearInterval(timer.current);
        setDriving(false);
      }
    }, 1200);
  }

  const markers: Marker[] = [{ id: "job", lat: job.location.lat, lng: job.location.lng, kind: "job", label: "Job" }];
  if (where) markers.push({ id: "provider-live", lat: where.lat, lng: where.lng, kind: "provider", label: "Provider" });
  const reviewed = props.role === "customer" ? job.reviews.customer_reviewed : job.reviews.provider_reviewed;
  return (
    <section class="card job" aria-label="Job">
      <h2>
        Job: <span data-testid="job-state">{job.state}</span>
      </h2>
      <p>{job.description}</p>
      {job.price && <p>Price: {fmtMoney(job.price)}</p>}
      <MapView markers={markers} center={where ?? job.location} label="Job map" />
      {where && (
        <p data-testid="live-location">
          Provider at {where.lat.toFixed(4)}, {where.lng.toFixed(4)}
        </p>
      )}
      <div class="row wrap">
        {job.next.map((to) => (
          <button type="button" class={to === "cancelled" ? "secondary" : ""} onClick={() => void move(to)}>
            {LABELS[to] ?? to}
          </button>
        ))}
        {props.role === "provider" && (job.state === "en_route" || job.state === "arrived") && (
          <button type="button" disabled={driving} onClick={drive}>
            {driving ? "Driving…" : "Simulate drive"}
          </button>
        )}
      </div>
      {job.state === "completed" && !reviewed && <Review job={job} onDone={props.onChange} />}
      {job.state === "completed" && reviewed && <p data-testid="reviewed">Thanks for your review.</p>}
      <Chat conversationId={job.conversation_id} title={props.role === "customer" ? "Chat with your provider" : "Chat with your customer"} />
    </section>
  );
}

function Review(props: { job: Job; onDone: (j: Job) => void }) {
  const { api, notice } = useCtx();
  const [rating, setRating] = useState(5);
  const [text, setText] = useState("");
  async function submit(ev: Event) {
    ev.preventDefault();
    try {
      ok(await api.POST("/jobs/{job_id}/reviews", { params: { path: { job_id: props.job.id } }, body: { rating, text } }));
      props.onDone(ok(await api.GET("/jobs/{job_id}", { params: { path: { job_id: props.job.id } } })));
    } catch (e) {
      notice(String((e as Error).message));
    }
  }
  return (
    <form class="review" onSubmit={submit} aria-label="Review">
      <label>
        Rating
        <select value={rating} onChange={(e) => setRating(Number(e.currentTarget.value))}>
          {[5, 4, 3, 2, 1].map((n) => (
            <option value={n}>{"★".repeat(n)}</option>
          ))}
        </select>
      </label>
      <label>
        Review
        <textarea value={text} onInput={(e) => setText(e.currentTarget.value)} />
      </label>
      <button type="submit">Send review</button>
    </form>
  );
}
