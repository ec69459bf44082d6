// A client under test built on a real third-party XMPP library, @xmpp/client
// (npm), logging in over WebSocket (RFC 7395): it sends presence with Google's
// voice caps and acknowledges every Google session iq, as a callee must before
// the caller's 15 s iq timeout (PROTOCOL.md §1, §6). Nothing of talkcheck's is
// used, so the test proves the fake server's WebSocket endpoint to a stranger.
//   node voice_callee.mjs WS_URL JID PASSWORD
import { WebSocket } from "ws";

// Node 20 has WebSocket only behind a flag; @xmpp/websocket uses the global.
globalThis.WebSocket ??= WebSocket;

const { client, xml } = await import("@xmpp/client");
const [service, jid, password] = process.argv.slice(2);
const [username, domain] = jid.split("@");

const xmpp = client({ service, domain, username, password, resource: "xmppjs" });
xmpp.on("error", (error) => console.error("xmppjs: error:", error.message));
xmpp.on("offline", () => console.log("xmppjs: offline"));
xmpp.on("stanza", (stanza) => console.log("xmppjs: <-", stanza.toString()));
// iq-callee answers an iq set whose child is {ns}session with a result.
xmpp.iqCallee.set("http://www.google.com/session", "session", () => true);
xmpp.on("online", async (address) => {
  console.log("xmppjs: online as", address.toString());
  await xmpp.send(
    xml("presence", {},
      xml("c", {
        xmlns: "http://jabber.org/protocol/caps",
        node: "http://www.google.com/xmpp/client/caps",
        ver: "1.0.0.104",
        ext: "voice-v1",
      })));
});
process.on("SIGTERM", async () => {
  await xmpp.stop().catch(() => {});
  process.exit(0);
});
await xmpp.start();
