// The provider: set up the profile, go online, receive offers live with a countdown,
// accept/decline or quote, then the job.
import { useEffect, useState } from "preact/hooks";
import { ok, type Schemas } from "../lib/api";
import { MapView } from "../lib/map";
import { Chat } from "./Chat";
import { FINAL, useCtx } from "./ctx";
import { JobPanel } from "./Job";

type Offer = Schemas["OfferOut"];
type Job = Schemas["JobOut"];
type Me = Schemas["ProviderPublic"];

export function Provider() {
  const { api, me, subscribe, notice } = useCtx();
  const [profile, setProfile] = useState<Me | null | undefined>(undefined);
  const [offers, setOffers] = useState<Offer[]>([]);
  const [job, setJob] = useState<Job | null>(null);
  const [where, setWhere] = useState({ lat: 38.7223, lng: -9.1393 });
  const [quoted, setQuoted] = useState<Record<string, string>>({});

  async function loadOffers() {
    setOffers(ok(await api.GET("/offers")).items);
  }
  useEffect(() => {
    void api.GET("/providers/{provider_id}", { params: { path: { provider_id: me } } }).then((r) => setProfile(r.data ?? null));
    void loadOffers();
    void api.GET("/jobs").then((r) => {
      const open = ok(r).items.find((j) => j.provider_id === me && (!FINAL.has(j.state) || (j.state === "completed" && !j.reviews.provider_reviewed)));
      if (open) setJob(open);
    });
  }, []);

  useEffect(
    () =>
      subscribe((f) => {
        const d = f.data;
        if (f.type === "offer.new") setOffers((o) => [...o.filter((x) => x.id !== d.id), d as Offer]);
        if (f.type === "offer.withdrawn") setOffers((o) => o.filter((x) => x.id !== d.offer_id));
        if (f.type === "job.updated" && d.provider_id === me && !job)
          void api.GET("/jobs/{job_id}", { params: { path: { job_id: d.id } } }).then((r) => setJob(ok(r)));
      }),
    [job?.id],
  );

  async function online(on: boolean) {
    try {
      const res = await api.PUT("/me/provider/availability", { body: { online: on, location: { lat: where.lat, lng: where.lng } } });
      const mine = ok(res);
      setProfile((p) => (p ? { ...p, online: mine.online } : p));
      if (on) await loadOffers();
    } catch (e) {
      notice((e as Error).message);
    }
  }

  async function accept(o: Offer) {
    try {
      setJob(ok(await api.POST("/offers/{offer_id}/accept", { params: { path: { offer_id: o.id } } })));
      setOffers((x) => x.filter((y) => y.id !== o.id));
    } catch (e) {
      notice((e as Error).message);
      void loadOffers();
    }
  }
  async function decline(o: Offer) {
    await api.POST("/offers/{offer_id}/decline", { params: { path: { offer_id: o.id } } });
    setOffers((x) => x.filter((y) => y.id !== o.id));
  }

  if (profile === undefined) return <p>Loading…</p>;
  if (profile === null) return <Setup onDone={(p) => setProfile(p)} where={where} setWhere={setWhere} />;
  if (job)
    return (
      <>
        <JobPanel job={job} role="provider" onChange={setJob} from={where} />
        {FINAL.has(job.state) && <button type="button" onClick={() => setJob(null)}>Back to offers</button>}
      </>
    );
  return (
    <section class="card" aria-label="Offers">
      <h2>
        You are <span data-testid="availability">{profile.online ? "online" : "offline"}</span>
      </h2>
      <MapView
        markers={[{ id: "me", ...where, kind: "me", label: "You" }, ...offers.map((o) => ({ id: o.id, lat: o.approx_location.lat, lng: o.approx_location.lng, kind: "request" as const }))]}
        center={where}
        onPick={setWhere}
        label="Where you are"
      />
      <button type="button" onClick={() => void online(!profile.online)}>
        {profile.online ? "Go offline" : "Go online"}
      </button>
      <h3>Offers</h3>
      {offers.length === 0 && <p class="hint">No offers yet: they arrive here live.</p>}
      <ul class="offers">
        {offers.map((o) => (
          <li key={o.id} class="card" data-testid="offer">
            <strong>{o.category}</strong> · {o.distance_km.toFixed(1)} km · <Countdown until={o.expires_at} />
            <p>{o.description}</p>
            {o.mode === "instant" ? (
              <div class="row">
                <button type="button" onClick={() => void accept(o)}>Accept</button>
                <button type="button" class="secondary" onClick={() => void decline(o)}>Decline</button>
              </div>
            ) : quoted[o.id] ? (
              <>
                <p data-testid="quoted">Quote sent</p>
                <Chat conversationId={quoted[o.id]} title="Chat about your quote" />
              </>
            ) : (
              <QuoteForm offer={o} onSent={(q) => setQuoted((x) => ({ ...x, [o.id]: q.conversation_id }))} />
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Countdown(props: { until: string }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, []);
  const left = Math.max(0, Math.round((Date.parse(props.until) - now) / 1000));
  return (
    <span class="countdown" data-testid="countdown">
      {left >= 3600 ? `${Math.floor(left / 3600)} h ${Math.floor((left % 3600) / 60)} min` : `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`} left
    </span>
  );
}

function QuoteForm(props: { offer: Offer; onSent: (q: Schemas["QuoteOut"]) => void }) {
  const { api, notice } = useCtx();
  const [price, setPrice] = useState("60");
  const [eta, setEta] = useState("30");
  const [note, setNote] = useState("");
  async function submit(ev: Event) {
    ev.preventDefault();
    try {
      const res = await api.POST("/requests/{request_id}/quotes", {
        params: { path: { request_id: props.offer.request_id } },
        body: { price: { amount: price, currency: "EUR" }, eta_minutes: Number(eta), note },
      });
      props.onSent(ok(res));
    } catch (e) {
      notice((e as Error).message);
    }
  }
  return (
    <form onSubmit={submit} class="quote-form" aria-label="Quote">
      <label>
        Price (EUR)
        <input inputMode="decimal" value={price} onInput={(e) => setPrice(e.currentTarget.value)} />
      </label>
      <label>
        ETA (minutes)
        <input inputMode="numeric" value={eta} onInput={(e) => setEta(e.currentTarget.value)} />
      </label>
      <label>
        Note
        <input value={note} onInput={(e) => setNote(e.currentTarget.value)} />
      </label>
      <button type="submit">Send quote</button>
    </form>
  );
}

function Setup(props: { onDone: (p: Me) => void; where: { lat: number; lng: number }; setWhere: (p: { lat: number; lng: number }) => void }) {
  const { api, notice } = useCtx();
  const [categories, setCategories] = useState<Schemas["Category"][]>([]);
  const [chosen, setChosen] = useState<string[]>([]);
  const [bio, setBio] = useState("");
  useEffect(() => void api.GET("/categories").then((r) => setCategories(ok(r).items)), []);
  async function submit(ev: Event) {
    ev.preventDefault();
    try {
      const mine = ok(await api.PUT("/me/provider", { body: { categories: chosen, bio, location: props.where, radius_km: 10 } }));
      props.onDone({ ...mine, online: mine.online });
    } catch (e) {
      notice((e as Error).message);
    }
  }
  return (
    <form class="card" onSubmit={submit} aria-label="Provider profile">
      <h2>Your services</h2>
      {categories.map((c) => (
        <label class="check">
          <input type="checkbox" checked={chosen.includes(c.id)} onChange={(e) => setChosen((x) => (e.currentTarget.checked ? [...x, c.id] : x.filter((y) => y !== c.id)))} /> {c.name}
        </label>
      ))}
      <label>
        About you
        <textarea value={bio} onInput={(e) => setBio(e.currentTarget.value)} />
      </label>
      <MapView markers={[{ id: "me", ...props.where, kind: "me", label: "Base" }]} center={props.where} onPick={props.setWhere} label="Your base" />
      <button type="submit">Save profile</button>
    </form>
  );
}
