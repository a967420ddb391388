// What the app and the console share: configuration, sign-in/up, the session, the socket,
// the frame dispatcher (live frames + feed catch-up after a reconnect), the notice line.
import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { makeApi } from "./api";
import { Auth, forget, groups, stored, takeNote, userId, type Session } from "./auth";
import { loadConfig, type AuthConfig, type WebConfig } from "./config";
import { Live, type ServerFrame, type Status } from "./live";
import { AppCtx, type Ctx } from "../app/ctx";

export function Boot(props: { title: string; children: (s: { session: Session; setSession: (s: Session) => void; auth: Auth; cfg: WebConfig }) => ComponentChildren; allowSignUp?: boolean }) {
  const [cfg, setCfg] = useState<WebConfig>();
  const [auth, setAuth] = useState<Auth>();
  const [error, setError] = useState<string>();
  const [session, setSession] = useState<Session | undefined>(stored());
  useEffect(() => {
    loadConfig()
      .then(async (c) => {
        const pool = (await (await fetch(`${c.apiUrl}/auth/config`)).json()) as AuthConfig;
        setCfg(c);
        setAuth(new Auth(c, pool));
      })
      .catch((e) => setError(`Cannot reach the API: ${(e as Error).message}`));
  }, []);
  if (error) return <p class="error">{error}</p>;
  if (!cfg || !auth) return <p>Loading…</p>;
  if (!session) return <SignIn title={props.title} auth={auth} cfg={cfg} onSession={setSession} allowSignUp={props.allowSignUp ?? true} />;
  return <>{props.children({ session, setSession, auth, cfg })}</>;
}

function SignIn(props: { title: string; auth: Auth; cfg: WebConfig; onSession: (s: Session) => void; allowSignUp: boolean }) {
  const [mode, setMode] = useState<"in" | "up" | "confirm">("in");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [error, setError] = useState("");
  const [note] = useState(takeNote);
  async function submit(ev: Event) {
    ev.preventDefault();
    setError("");
    try {
      if (mode === "up") {
        await props.auth.signUp(email, password);
        setMode("confirm");
        return;
      }
      if (mode === "confirm") await props.auth.confirm(email, code);
      props.onSession(await props.auth.signIn(email, password));
    } catch (e) {
      setError((e as Error).message);
    }
  }
  return (
    <main class="narrow">
      <h1>{props.title}</h1>
      {note && (
        <p class="card" role="status" data-testid="signed-out-note">
          {note}
        </p>
      )}
      <form class="card" onSubmit={submit} aria-label={mode === "in" ? "Sign in" : "Create account"}>
        {mode !== "confirm" ? (
          <>
            <label>
              Email
              <input type="email" autoComplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
            </label>
            <label>
              Password
              <input type="password" autoComplete={mode === "in" ? "current-password" : "new-password"} required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
            </label>
          </>
        ) : (
          <label>
            Confirmation code {props.cfg.local && <small>(local stack: any code works)</small>}
            <input required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
          </label>
        )}
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit">{mode === "in" ? "Sign in" : mode === "up" ? "Create account" : "Confirm"}</button>
        {props.allowSignUp && mode === "in" && (
          <button type="button" class="link" onClick={() => setMode("up")}>
            New here? Create an account
          </button>
        )}
        {mode !== "in" && (
          <button type="button" class="link" onClick={() => setMode("in")}>
            I have an account
          </button>
        )}
      </form>
    </main>
  );
}

export const CAUGHT = "Reconnected: ";

/** The signed-in shell: API client, socket, dispatcher, header and notice line. */
export function Shell(props: { session: Session; setSession: (s: Session) => void; auth: Auth; cfg: WebConfig; title: string; children: ComponentChildren; nav?: ComponentChildren }) {
  const [status, setStatus] = useState<Status>("connecting");
  const [notice, setNotice] = useState("");
  const ctx = useMemo(() => {
    let current = props.session;
    const token = async () => {
      if (current.expiresAt - Date.now() < 60_000) {
        current = await props.auth.refresh(current);
      }
      return current.idToken;
    };
    const api = makeApi(props.cfg.apiUrl, token);
    const live = new Live(props.cfg.wsUrl, token);
    // Notices replace each other, except the parts of one catch-up, which add up.
    const say = (t: string) =>
      setNotice((n) => (n.startsWith(CAUGHT) && t.startsWith(CAUGHT) ? `${n}; ${t.slice(CAUGHT.length)}` : t));
    const subs = new Set<(f: ServerFrame) => void>();
    const seen = new Set<string>();
    let lastAt = new Date().toISOString();
    let awayFrom: string | undefined; // the last event seen before the socket dropped
    const dispatch = (f: ServerFrame) => {
      if (f.id && seen.has(f.id)) return;
      if (f.id) seen.add(f.id);
      if (f.at && f.at > lastAt) lastAt = f.at;
      for (const s of subs) s(f);
    };
    live.on(dispatch);
    const c: Ctx = {
      api,
      live,
      me: userId(props.session),
      groups: groups(props.session),
      subscribe: (fn) => {
        subs.add(fn);
        return () => subs.delete(fn);
      },
      notice: say,
      signOut: (note) => {
        live.stop();
        forget(note);
        location.reload();
      },
    };
    live.onStatus((s, reconnected) => {
      setStatus(s);
      if (s !== "live") awayFrom ??= lastAt;
      else if (!reconnected) awayFrom = undefined;
      if (s === "live" && reconnected) {
        // Events while away: the feed, newest first (a few seconds of overlap; ids dedupe).
        const since = new Date(Date.parse(awayFrom ?? lastAt) - 5000).toISOString();
        awayFrom = undefined;
        void api.GET("/notifications", { params: { query: { limit: 50 } } }).then((r) => {
          const missed = (r.data?.items ?? []).filter((e) => e.at > since && !seen.has(e.id)).reverse();
          for (const e of missed) dispatch({ type: e.type, id: e.id, at: e.at, data: e.data as ServerFrame["data"] });
          say(`${CAUGHT}caught up ${missed.length} event${missed.length === 1 ? "" : "s"}`);
        });
      }
    });
    live.start();
    (window as unknown as { summonLive: Live }).summonLive = live; // tests drop the socket
    return c;
  }, [props.session.idToken]);
  useEffect(() => () => ctx.live.stop(), [ctx]);
  return (
    <AppCtx.Provider value={ctx}>
      <header class="top">
        <strong>{props.title}</strong>
        {props.nav}
        <span class={`status ${status}`} data-testid="connection" title="Live connection">
          {status}
        </span>
        <span class="who">{props.session.email}</span>
        <button type="button" class="link" onClick={() => ctx.signOut()}>
          Sign out
        </button>
      </header>
      {notice && (
        <p class="notice" role="status" data-testid="notice">
          {notice} <button type="button" class="link" aria-label="Dismiss" onClick={() => setNotice("")}>×</button>
        </p>
      )}
      <main>{props.children}</main>
    </AppCtx.Provider>
  );
}
