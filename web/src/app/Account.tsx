// The account: who I am, a copy of my data (POST /me/exports, GDPR art. 20) and deleting
// the account (DELETE /me; App Store 5.1.1(v), GDPR art. 17).
import { useEffect, useState } from "preact/hooks";
import { ok, type Schemas } from "../lib/api";
import { useCtx } from "./ctx";

type Export = Schemas["ExportOut"];

const ROLE_NAMES: Record<string, string> = { customers: "customer", providers: "provider" };
/** How often a pending export is read again, should its export.ready frame be lost. */
const POLL_MS = 10_000;

export function Account() {
  const { api, notice } = useCtx();
  const [profile, setProfile] = useState<Schemas["Profile"]>();
  useEffect(() => {
    void api
      .GET("/me")
      .then((r) => setProfile(ok(r)))
      .catch((e) => notice((e as Error).message));
  }, []);
  return (
    <>
      <section class="card" aria-label="Your account">
        <h2>Your account</h2>
        {profile ? (
          <dl class="facts">
            <dt>Email</dt>
            <dd data-testid="account-email">{profile.email}</dd>
            {profile.name && (
              <>
                <dt>Name</dt>
                <dd>{profile.name}</dd>
              </>
            )}
            <dt>Using Summon as</dt>
            <dd>{profile.roles.map((r) => ROLE_NAMES[r] ?? r).join(" and ") || "—"}</dd>
          </dl>
        ) : (
          <p>Loading…</p>
        )}
      </section>
      <DataExport />
      <DeleteAccount />
    </>
  );
}

function time(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function size(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.max(1, Math.round(bytes / 1024))} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function DataExport() {
  const { api, subscribe } = useCtx();
  const [exp, setExp] = useState<Export | null>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function read(id: string) {
    try {
      setExp(ok(await api.GET("/me/exports/{export_id}", { params: { path: { export_id: id } } })));
    } catch (e) {
      setExp(null);
      setError((e as Error).message);
    }
  }

  async function start() {
    setBusy(true);
    setError("");
    try {
      setExp(ok(await api.POST("/me/exports", {})));
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  // While it is built: export.ready says when (live, or from the feed after a reconnect);
  // reading it now and then covers a frame that never came.
  useEffect(() => {
    if (exp?.status !== "pending") return;
    const id = exp.id;
    const off = subscribe((f) => {
      if (f.type === "export.ready" && f.data.id === id) void read(id);
    });
    const poll = window.setInterval(() => void read(id), POLL_MS);
    return () => {
      off();
      window.clearInterval(poll);
    };
  }, [exp?.id, exp?.status]);

  // The download URL lives 15 minutes: read the export again for a fresh one before then.
  useEffect(() => {
    if (exp?.status !== "ready" || !exp.url_expires_at) return;
    const id = exp.id;
    const t = window.setTimeout(() => void read(id), Math.max(5_000, Date.parse(exp.url_expires_at) - Date.now() - 30_000));
    return () => window.clearTimeout(t);
  }, [exp?.url]);

  return (
    <section class="card" aria-label="Your data">
      <h2>Your data</h2>
      <p class="hint">
        A copy of everything Summon holds about you — profile, requests, jobs, messages, reviews, photos — as one zip of JSON files and your
        uploads.
      </p>
      {exp?.status === "pending" && (
        <p role="status" data-testid="export-status">
          Preparing your archive (asked at {time(exp.created_at)})… It takes a minute or so; it appears here when it is ready.
        </p>
      )}
      {exp?.status === "ready" && exp.url && (
        <>
          <p data-testid="export-status">Your archive is ready.</p>
          <a class="button" href={exp.url} download data-testid="export-link">
            Download the archive{exp.size_bytes != null ? ` (zip, ${size(exp.size_bytes)})` : ""}
          </a>
          <p class="hint">
            {exp.url_expires_at && `This link works until ${time(exp.url_expires_at)} (a new one comes by itself while this screen is open). `}
            {exp.expires_at && `The archive is deleted on ${new Date(exp.expires_at).toLocaleDateString()}.`}
          </p>
        </>
      )}
      {exp?.status === "failed" && (
        <p class="error" role="alert" data-testid="export-status">
          The archive could not be made. Please ask again.
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {exp?.status !== "pending" && (
        <button type="button" class={exp ? "secondary" : ""} disabled={busy} onClick={() => void start()}>
          {exp ? "Make a new copy" : "Download my data"}
        </button>
      )}
    </section>
  );
}

export const DELETED_NOTE =
  "Your account is deleted and you are signed out. Everything personal is erased within a few minutes; signing in with this account no longer works.";

function DeleteAccount() {
  const { api, signOut } = useCtx();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function remove() {
    setBusy(true);
    setError("");
    try {
      ok(await api.DELETE("/me", {}));
      signOut(DELETED_NOTE);
    } catch (e) {
      setError(`Your account was not deleted: ${(e as Error).message}`);
      setBusy(false);
    }
  }

  return (
    <section class="card" aria-label="Delete your account">
      <h2>Delete your account</h2>
      {!confirming ? (
        <button type="button" class="danger" onClick={() => setConfirming(true)}>
          Delete my account
        </button>
      ) : (
        <div data-testid="delete-confirm">
          <p>
            <strong>This cannot be undone.</strong> You are signed out everywhere at once and cannot sign in again. Within a few minutes
            Summon erases:
          </p>
          <ul>
            <li>your profile (email, name, phone, photo), settings and provider profile;</li>
            <li>your requests, the offers and quotes you received, your blocks and notifications;</li>
            <li>every photo you uploaded, your devices and your data exports.</li>
          </ul>
          <p>
            The other side of your past jobs keeps the job, its reviews both ways, the conversation with every message, and a quote you
            sent them — shown as from a <em>Deleted user</em>, with your name, email and phone removed. Reports stay with the operators.
          </p>
          <p class="hint">Want a copy first? Use “Download my data” above before you delete.</p>
          {error && (
            <p class="error" role="alert" data-testid="delete-error">
              {error}
            </p>
          )}
          <div class="row wrap">
            <button type="button" class="danger" disabled={busy} onClick={() => void remove()}>
              Delete my account for good
            </button>
            <button
              type="button"
              class="secondary"
              onClick={() => {
                setConfirming(false);
                setError("");
              }}
            >
              Keep my account
            </button>
          </div>
        </div>
      )}
    </section>
  );
}
