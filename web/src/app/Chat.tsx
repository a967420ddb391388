// Chat in one conversation: messages (catch-up by ?after= on mount, on every reconnect and
// when a live message's seq skips one), typing, read receipts.
import { useEffect, useRef, useState } from "preact/hooks";
import { newId, ok, type Schemas } from "../lib/api";
import { useCtx } from "./ctx";

type Message = Schemas["Message"];

export function Chat(props: { conversationId: string; title?: string }) {
  const { api, live, me, notice, subscribe } = useCtx();
  const id = props.conversationId;
  const [messages, setMessages] = useState<Message[]>([]);
  const [text, setText] = useState("");
  const [otherTyping, setOtherTyping] = useState(false);
  const [otherRead, setOtherRead] = useState(0);
  const seqs = useRef(new Set<number>()); // every seq received
  const upTo = useRef(0); // the highest seq with none missing before it
  const typingSent = useRef(0);
  const typingTimer = useRef<number | undefined>(undefined);
  const readSent = useRef(0);
  const list = useRef<HTMLOListElement>(null);

  function add(items: Message[]): number {
    let added = 0;
    setMessages((prev) => {
      const byId = new Map(prev.map((m) => [m.client_msg_id + m.sender_id, m]));
      for (const m of items) {
        const key = m.client_msg_id + m.sender_id;
        if (!byId.has(key) || byId.get(key)!.seq < 0) added++;
        byId.set(key, m);
      }
      return [...byId.values()].sort((a, b) => (a.seq < 0 ? 1e15 : a.seq) - (b.seq < 0 ? 1e15 : b.seq));
    });
    for (const m of items) if (m.seq > 0) seqs.current.add(m.seq);
    while (seqs.current.has(upTo.current + 1)) upTo.current++;
    return added;
  }

  async function catchUp(): Promise<number> {
    const res = ok(
      await api.GET("/conversations/{conversation_id}/messages", {
        params: { path: { conversation_id: id }, query: { after: upTo.current, limit: 100 } },
      }),
    );
    return add(res.items);
  }

  useEffect(() => {
    void catchUp();
    const offFrames = subscribe((f) => {
      const d = f.data;
      if (d.conversation_id !== id) return;
      if (f.type === "chat.message") {
        const gap = (d as Message).seq > upTo.current + 1; // a live frame before it was lost
        add([d as Message]);
        if (gap) void catchUp();
      } else if (f.type === "chat.typing" && d.user_id !== me) {
        setOtherTyping(Boolean(d.typing));
        window.clearTimeout(typingTimer.current);
        if (d.typing) typingTimer.current = window.setTimeout(() => setOtherTyping(false), 6000);
      } else if (f.type === "chat.read" && d.user_id !== me) setOtherRead((s) => Math.max(s, d.seq));
    });
    const offStatus = live.onStatus((s, reconnected) => {
      if (s === "live" && reconnected)
        void catchUp().then((n) => notice(`Reconnected: caught up ${n} message${n === 1 ? "" : "s"}`));
    });
    return () => {
      offFrames();
      offStatus();
    };
  }, [id]);

  // Read receipts: what is on screen from the other side is read.
  useEffect(() => {
    const theirs = messages.filter((m) => m.sender_id !== me && m.seq > 0);
    const top = theirs.length ? theirs[theirs.length - 1].seq : 0;
    if (top > readSent.current && document.visibilityState === "visible") {
      readSent.current = top;
      if (!live.send({ action: "chat.read", conversation_id: id, seq: top }))
        void api.POST("/conversations/{conversation_id}/read", { params: { path: { conversation_id: id } }, body: { seq: top } });
    }
    list.current?.lastElementChild?.scrollIntoView({ block: "nearest" });
  }, [messages]);

  function typing(value: string) {
    setText(value);
    const now = Date.now();
    if (value && now - typingSent.current > 2500) {
      typingSent.current = now;
      live.send({ action: "chat.typing", conversation_id: id, typing: true });
    }
  }

  async function send(ev: Event) {
    ev.preventDefault();
    const body = text.trim();
    if (!body) return;
    setText("");
    typingSent.current = 0;
    const client_msg_id = newId();
    add([{ id: "", conversation_id: id, seq: -1, sender_id: me, client_msg_id, text: body, created_at: new Date().toISOString() }]);
    if (!live.send({ action: "chat.send", conversation_id: id, client_msg_id, text: body })) {
      const res = await api.POST("/conversations/{conversation_id}/messages", {
        params: { path: { conversation_id: id } },
        body: { client_msg_id, text: body },
      });
      add([ok(res)]);
    }
  }

  const mineLast = [...messages].reverse().find((m) => m.sender_id === me);
  return (
    <section class="chat" aria-label={props.title ?? "Chat"}>
      <h3>{props.title ?? "Chat"}</h3>
      <ol ref={list} class="messages">
        {messages.map((m) => (
          <li key={m.client_msg_id + m.sender_id} class={m.sender_id === me ? "mine" : "theirs"} data-seq={m.seq}>
            <span class="text">{m.text ?? "[photo]"}</span>
            {m === mineLast && (
              <small class="receipt" data-testid="receipt">
                {m.seq < 0 ? "Sending…" : otherRead >= m.seq ? "Read" : "Sent"}
              </small>
            )}
          </li>
        ))}
      </ol>
      <p class="typing" aria-live="polite">{otherTyping ? "typing…" : ""}</p>
      <form onSubmit={send} class="row">
        <input aria-label="Message" value={text} onInput={(e) => typing(e.currentTarget.value)} placeholder="Write a message" />
        <button type="submit">Send</button>
      </form>
    </section>
  );
}
