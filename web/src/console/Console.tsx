// The operator console (/admin/* routes, operators group): reports, users, provider
// approvals, categories, announcements, audit log, live figures and map.
import { useEffect, useState } from "preact/hooks";
import { ok, type Schemas } from "../lib/api";
import { useCtx } from "../app/ctx";
import { Live } from "./Live";

const TABS = ["Reports", "Live", "Users", "Approvals", "Categories", "Announcements", "Audit"] as const;
type Tab = (typeof TABS)[number];

export function Console() {
  const { groups } = useCtx();
  const [tab, setTab] = useState<Tab>("Reports");
  if (!groups.includes("operators"))
    return <p class="error" role="alert">This console is for operators: sign in with an operator account.</p>;
  return (
    <div class="console">
      <nav class="row wrap" aria-label="Sections">
        {TABS.map((t) => (
          <button type="button" class={t === tab ? "" : "secondary"} aria-pressed={t === tab} onClick={() => setTab(t)}>
            {t}
          </button>
        ))}
      </nav>
      {tab === "Reports" && <Reports />}
      {tab === "Live" && <Live />}
      {tab === "Users" && <Users />}
      {tab === "Approvals" && <Approvals />}
      {tab === "Categories" && <Categories />}
      {tab === "Announcements" && <Announce />}
      {tab === "Audit" && <Audit />}
    </div>
  );
}

function useFail() {
  const { notice } = useCtx();
  return (e: unknown) => notice((e as Error).message);
}

function Reports() {
  const { api, notice } = useCtx();
  const fail = useFail();
  const [items, setItems] = useState<Schemas["ReportOut"][]>();
  const load = () => api.GET("/admin/reports").then((r) => setItems(ok(r).items)).catch(fail);
  useEffect(() => void load(), []);
  async function resolve(id: string, action: "dismiss" | "remove_content" | "suspend_user") {
    try {
      ok(await api.POST("/admin/reports/{report_id}/resolve", { params: { path: { report_id: id } }, body: { action } }));
      notice(`Report resolved: ${action}`);
      await load();
    } catch (e) {
      fail(e);
    }
  }
  if (!items) return <p>Loading…</p>;
  return (
    <section class="card" aria-label="Reports">
      <h2>Open reports ({items.length})</h2>
      {items.length === 0 && <p class="hint">Nothing to review.</p>}
      <ul class="offers">
        {items.map((r) => (
          <li class="card" data-testid="report" key={r.id}>
            <strong>{r.subject_type}</strong> <code>{r.subject_id}</code> · {r.reason}
            <p>{r.text}</p>
            <small class="hint">
              {r.created_at} · by {r.reporter_id} · author {r.author_id}
            </small>
            <div class="row wrap">
              <button type="button" onClick={() => void resolve(r.id, "dismiss")}>Dismiss</button>
              <button type="button" class="secondary" onClick={() => void resolve(r.id, "remove_content")}>Remove content</button>
              <button type="button" class="secondary" onClick={() => void resolve(r.id, "suspend_user")}>Suspend author</button>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Users() {
  const { api, notice } = useCtx();
  const fail = useFail();
  const [email, setEmail] = useState("");
  const [items, setItems] = useState<Schemas["AdminUser"][]>([]);
  async function find(ev?: Event) {
    ev?.preventDefault();
    try {
      setItems(ok(await api.GET("/admin/users", { params: { query: { email } } })).items);
    } catch (e) {
      fail(e);
    }
  }
  async function act(u: Schemas["AdminUser"], what: "suspend" | "restore") {
    try {
      const path = what === "suspend" ? "/admin/users/{user_id}/suspend" : "/admin/users/{user_id}/restore";
      ok(await api.POST(path, { params: { path: { user_id: u.id } }, body: { reason: "console" } }));
      notice(`${u.email}: ${what === "suspend" ? "suspended" : "restored"}`);
      await find();
    } catch (e) {
      fail(e);
    }
  }
  return (
    <section class="card" aria-label="Users">
      <h2>Users</h2>
      <form class="row" onSubmit={find}>
        <input aria-label="Email starts with" value={email} onInput={(e) => setEmail(e.currentTarget.value)} placeholder="email starts with…" />
        <button type="submit">Find</button>
      </form>
      <table>
        <tbody>
          {items.map((u) => (
            <tr key={u.id} data-testid="user">
              <td>{u.email}</td>
              <td>{u.roles.join(", ")}</td>
              <td>{u.suspended ? "suspended" : u.status}</td>
              <td>
                {u.suspended ? (
                  <button type="button" onClick={() => void act(u, "restore")}>Restore</button>
                ) : (
                  <button type="button" class="secondary" onClick={() => void act(u, "suspend")}>Suspend</button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Approvals() {
  const { api, notice } = useCtx();
  const fail = useFail();
  const [items, setItems] = useState<Schemas["ApprovalOut"][]>();
  const load = () => api.GET("/admin/providers", { params: { query: { status: "pending" } } }).then((r) => setItems(ok(r).items)).catch(fail);
  useEffect(() => void load(), []);
  async function decide(id: string, approve: boolean) {
    try {
      const path = approve ? "/admin/providers/{user_id}/approve" : "/admin/providers/{user_id}/reject";
      ok(await api.POST(path, { params: { path: { user_id: id } }, body: {} }));
      notice(approve ? "Approved" : "Rejected");
      await load();
    } catch (e) {
      fail(e);
    }
  }
  if (!items) return <p>Loading…</p>;
  return (
    <section class="card" aria-label="Provider approvals">
      <h2>Providers waiting ({items.length})</h2>
      {items.length === 0 && <p class="hint">Nobody is waiting (locally, providers are approved as they sign up).</p>}
      <table>
        <tbody>
          {items.map((a) => (
            <tr key={a.user_id}>
              <td>{a.email ?? a.user_id}</td>
              <td>{a.requested_at}</td>
              <td>
                <button type="button" onClick={() => void decide(a.user_id, true)}>Approve</button>
                <button type="button" class="secondary" onClick={() => void decide(a.user_id, false)}>Reject</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Categories() {
  const { api, notice } = useCtx();
  const fail = useFail();
  const [items, setItems] = useState<Schemas["Category"][]>([]);
  const [id, setId] = useState("");
  const [name, setName] = useState("");
  const load = () => api.GET("/categories").then((r) => setItems(ok(r).items)).catch(fail);
  useEffect(() => void load(), []);
  async function save(ev: Event) {
    ev.preventDefault();
    try {
      ok(await api.PUT("/admin/categories/{category_id}", { params: { path: { category_id: id } }, body: { name } }));
      notice(`Category ${id} saved`);
      await load();
    } catch (e) {
      fail(e);
    }
  }
  return (
    <section class="card" aria-label="Categories">
      <h2>Categories</h2>
      <table>
        <tbody>
          {items.map((c) => (
            <tr key={c.id}>
              <td><code>{c.id}</code></td>
              <td>{c.name}</td>
              <td><button type="button" class="link" onClick={() => { setId(c.id); setName(c.name); }}>Edit</button></td>
            </tr>
          ))}
        </tbody>
      </table>
      <form onSubmit={save}>
        <label>Id<input value={id} onInput={(e) => setId(e.currentTarget.value)} required /></label>
        <label>Name<input value={name} onInput={(e) => setName(e.currentTarget.value)} required /></label>
        <button type="submit">Save category</button>
      </form>
    </section>
  );
}

function Announce() {
  const { api, notice } = useCtx();
  const fail = useFail();
  const [title, setTitle] = useState("");
  const [text, setText] = useState("");
  const [audience, setAudience] = useState("all");
  async function send(ev: Event) {
    ev.preventDefault();
    try {
      ok(await api.POST("/admin/announcements", { body: { title, text, audience: audience as Schemas["AnnouncementIn"]["audience"] } }));
      notice("Announcement sent");
    } catch (e) {
      fail(e);
    }
  }
  return (
    <form class="card" onSubmit={send} aria-label="Announcement">
      <h2>Announce</h2>
      <label>Title<input value={title} onInput={(e) => setTitle(e.currentTarget.value)} required /></label>
      <label>Text<textarea value={text} onInput={(e) => setText(e.currentTarget.value)} required /></label>
      <label>
        Audience
        <select value={audience} onChange={(e) => setAudience(e.currentTarget.value)}>
          <option value="all">everyone</option>
          <option value="customers">customers</option>
          <option value="providers">providers</option>
        </select>
      </label>
      <button type="submit">Send announcement</button>
    </form>
  );
}

function Audit() {
  const { api } = useCtx();
  const fail = useFail();
  const [month, setMonth] = useState(new Date().toISOString().slice(0, 7));
  const [items, setItems] = useState<Schemas["AuditEntry"][]>([]);
  useEffect(() => void api.GET("/admin/audit", { params: { query: { month } } }).then((r) => setItems(ok(r).items)).catch(fail), [month]);
  return (
    <section class="card" aria-label="Audit log">
      <h2>Audit log</h2>
      <label>Month<input type="month" value={month} onChange={(e) => setMonth(e.currentTarget.value)} /></label>
      <table>
        <tbody>
          {items.map((a) => (
            <tr data-testid="audit">
              <td>{a.at}</td>
              <td>{a.actor_id}</td>
              <td>{a.action}</td>
              <td><code>{a.target}</code></td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
