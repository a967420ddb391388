// The customer: ask for a service on the map, watch offers and quotes arrive, accept, then
// the job.
import { useEffect, useState } from "preact/hooks";
import { ok, type Schemas } from "../lib/api";
import { MapView } from "../lib/map";
import { Chat } from "./Chat";
import { FINAL, fmtMoney, useCtx } from "./ctx";
import { JobPanel } from "./Job";

type Request = Schemas["RequestOut"];
type Quote = Schemas["QuoteOut"];
type Job = Schemas["JobOut"];

export function Customer() {
  const { api, subscribe, notice } = useCtx();
  const [categories, setCategories] = useState<Schemas["Category"][]>([]);
  const [request, setRequest] = useState<Request | null>(null);
  const [quotes, setQuotes] = useState<Quote[]>([]);
  const [job, setJob] = useState<Job | null>(null);
  const [chatWith, setChatWith] = useState<Quote | null>(null);

  useEffect(() => {
    void api.GET("/categories").then((r) => setCategories(ok(r).items));
    void api.GET("/jobs").then((r) => {
      const open = ok(r).items.find((j) => !FINAL.has(j.state) || (j.state === "completed" && !j.reviews.customer_reviewed));
      if (open) setJob(open);
    });
  }, []);

  useEffect(
    () =>
      subscribe((f) => {
        const d = f.data;
        if (f.type === "request.updated" && request && d.id === request.id) setRequest(d as Request);
        if (f.type === "quote.new" && request && d.request_id === request.id)
          setQuotes((q) => [...q.filter((x) => x.id !== d.id), d as Quote]);
        if (f.type === "job.updated" && request && d.request_id === request.id && !job)
          void api.GET("/jobs/{job_id}", { params: { path: { job_id: d.id } } }).then((r) => setJob(ok(r)));
      }),
    [request?.id, job?.id],
  );

  async function acceptQuote(q: Quote) {
    try {
      setJob(ok(await api.POST("/quotes/{quote_id}/accept", { params: { path: { quote_id: q.id } } })));
    } catch (e) {
      notice((e as Error).message);
    }
  }

  if (job)
    return (
      <>
        <JobPanel job={job} role="customer" onChange={setJob} />
        {FINAL.has(job.state) && (
          <button type="button" onClick={() => { setJob(null); setRequest(null); setQuotes([]); }}>
            Ask for something else
          </button>
        )}
      </>
    );
  if (request)
    return (
      <section class="card" aria-label="Your request">
        <h2>
          Your request: <span data-testid="request-status">{request.status}</span>
        </h2>
        <p>{request.description}</p>
        <p>
          {request.mode === "instant"
            ? `Offered to ${request.offers_sent ?? 0} provider(s); waiting for one to accept…`
            : `Quotes: ${quotes.length}`}
        </p>
        <ul class="quotes">
          {quotes.map((q) => (
            <li key={q.id} class="card" data-testid="quote">
              <strong>{fmtMoney(q.price)}</strong> · {q.eta_minutes} min · {q.note}
              <div class="row">
                <button type="button" onClick={() => void acceptQuote(q)}>Accept quote</button>
                <button type="button" class="secondary" onClick={() => setChatWith(q)}>Ask a question</button>
              </div>
            </li>
          ))}
        </ul>
        {chatWith && <Chat conversationId={chatWith.conversation_id} title="Chat about the quote" />}
        {!FINAL.has(request.status) && (
          <button
            type="button"
            class="secondary"
            onClick={async () => setRequest(ok(await api.POST("/requests/{request_id}/cancel", { params: { path: { request_id: request.id } }, body: {} })))}
          >
            Cancel request
          </button>
        )}
      </section>
    );
  return <Ask categories={categories} onCreated={(r) => { setQuotes([]); setRequest(r); }} />;
}

function Ask(props: { categories: Schemas["Category"][]; onCreated: (r: Request) => void }) {
  const { api, notice } = useCtx();
  const [where, setWhere] = useState({ lat: 38.7223, lng: -9.1393 });
  const [category, setCategory] = useState("plumbing");
  const [description, setDescription] = useState("");
  const [mode, setMode] = useState<"instant" | "quote">("instant");
  const [photos, setPhotos] = useState<{ id: string; thumb?: string }[]>([]);
  const [busy, setBusy] = useState(false);

  async function addPhoto(file: File) {
    try {
      const up = ok(await api.POST("/uploads", { body: { purpose: "request_photo", content_type: file.type || "image/png", size_bytes: file.size } }));
      const form = new FormData();
      for (const [k, v] of Object.entries(up.fields as Record<string, string>)) form.append(k, v);
      form.append("file", file);
      const put = await fetch(up.url, { method: "POST", body: form });
      if (!put.ok && put.status !== 204) throw new Error(`upload: ${put.status}`);
      setPhotos((p) => [...p, { id: up.id }]);
      for (let i = 0; i < 40; i++) {
        const m = ok(await api.GET("/media/{media_id}", { params: { path: { media_id: up.id } } }));
        if (m.status !== "pending") {
          setPhotos((p) => p.map((x) => (x.id === up.id ? { id: x.id, thumb: m.thumbnail_url ?? m.url ?? undefined } : x)));
          return;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    } catch (e) {
      notice((e as Error).message);
    }
  }

  async function submit(ev: Event) {
    ev.preventDefault();
    setBusy(true);
    try {
      const res = await api.POST("/requests", {
        body: { category, description, mode, location: { lat: where.lat, lng: where.lng }, media_ids: photos.map((p) => p.id) },
      });
      props.onCreated(ok(res));
    } catch (e) {
      notice((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="card" onSubmit={submit} aria-label="Ask for a service">
      <h2>What do you need?</h2>
      <MapView markers={[{ id: "pick", ...where, kind: "pick", label: "Here" }]} center={where} onPick={setWhere} label="Pick the place" />
      <p class="hint">
        Tap the map to set the place ({where.lat.toFixed(4)}, {where.lng.toFixed(4)}).
      </p>
      <label>
        Service
        <select value={category} onChange={(e) => setCategory(e.currentTarget.value)}>
          {props.categories.map((c) => (
            <option value={c.id}>{c.name}</option>
          ))}
        </select>
      </label>
      <label>
        Description
        <textarea required value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      </label>
      <fieldset class="row">
        <legend>When</legend>
        <label>
          <input type="radio" name="mode" checked={mode === "instant"} onChange={() => setMode("instant")} /> Now (instant)
        </label>
        <label>
          <input type="radio" name="mode" checked={mode === "quote"} onChange={() => setMode("quote")} /> Get quotes
        </label>
      </fieldset>
      <label>
        Photos
        <input type="file" accept="image/png,image/jpeg,image/webp" onChange={(e) => { const f = e.currentTarget.files?.[0]; if (f) void addPhoto(f); }} />
      </label>
      <div class="row wrap">
        {photos.map((p) => (p.thumb ? <img class="thumb" src={p.thumb} alt="Photo thumbnail" /> : <span class="thumb">uploading…</span>))}
      </div>
      <button type="submit" disabled={busy}>Ask</button>
    </form>
  );
}
