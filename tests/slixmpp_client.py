#!/usr/bin/python3
"""A real third-party client (slixmpp) logs in to the fake server and talks to the peer.

Run with Debian's /usr/bin/python3 (python3-slixmpp). Connects to --host/--port
directly (no DNS), negotiates STARTTLS accepting the server's self-signed certificate,
authenticates with SCRAM-SHA-1 only, binds the resource of --jid, and then checks, in
order:
  1. the roster lists the peer's bare JID with subscription "both";
  2. after our initial presence, the peer's presence arrives with Google Talk caps
     (node http://www.google.com/xmpp/client/caps, ext containing voice-v1);
  3. disco#info to the peer for node ...caps#voice-v1 lists the voice feature;
then closes the stream. Prints one line per check ("ok: ..." / "FAIL: ..."), then
"mechanism=<SASL mechanism> tls=<yes|no>", and exits 0 only if every check passed.
"""

import argparse
import asyncio
import logging
import ssl
import sys

import slixmpp

CAPS_NS = 'http://jabber.org/protocol/caps'
GOOGLE_CAPS_NODE = 'http://www.google.com/xmpp/client/caps'
VOICE_NODE = GOOGLE_CAPS_NODE + '#voice-v1'
VOICE_FEATURE = 'http://www.google.com/xmpp/protocol/voice/v1'
MECHANISM = 'SCRAM-SHA-1'


class Checker(slixmpp.ClientXMPP):
    """Logs in, runs the checks once the session starts, records the verdicts."""

    def __init__(self, args):
        super().__init__(args.jid, args.password, sasl_mech=MECHANISM)
        self.host = args.host
        self.port = args.port
        self.peer = slixmpp.JID(args.peer)
        self.failures = []
        self.done = self.loop.create_future()
        self.peer_presence = self.loop.create_future()
        self.session_started = False

        # The server's certificate is self-signed and made at start: encrypt, but do
        # not verify (nothing here tests the certificate).
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        self.ssl_context = context
        # Only SCRAM-SHA-1, never PLAIN, whatever the server offers.
        self['feature_mechanisms'].use_mechs = {MECHANISM}
        self['feature_mechanisms'].unencrypted_plain = False
        self['feature_mechanisms'].encrypted_plain = False

        self.register_plugin('xep_0030')  # service discovery
        self.add_event_handler('session_start', self.on_session_start)
        self.add_event_handler('presence_available', self.on_presence)
        self.add_event_handler('failed_auth', self.on_failed_auth)
        self.add_event_handler('failed_all_auth', self.on_failed_auth)
        self.add_event_handler('stream_error', self.on_stream_error)
        self.add_event_handler('connection_failed', self.on_connection_failed)
        self.add_event_handler('disconnected', self.on_disconnected)

    async def get_dns_records(self, domain, port=None):
        # Connect exactly where we were told: never resolve the JID's domain.
        return [(domain, self.host, self.port)]

    def check(self, condition, what):
        print(('ok: ' if condition else 'FAIL: ') + what, flush=True)
        if not condition:
            self.failures.append(what)
        return condition

    def finish(self, failure=None):
        if failure is not None:
            self.check(False, failure)
        if not self.done.done():
            self.done.set_result(True)

    def on_failed_auth(self, _):
        self.finish('authentication with %s failed' % MECHANISM)

    def on_stream_error(self, error):
        self.finish('stream error from the server: %s' % error)

    def on_connection_failed(self, error):
        self.finish('connection failed: %s' % error)

    def on_disconnected(self, reason):
        if not self.session_started or not self.done.done():
            self.finish('disconnected before the checks finished: %s' % reason)

    def on_presence(self, presence):
        if presence['from'] == self.peer and not self.peer_presence.done():
            self.peer_presence.set_result(presence)

    async def on_session_start(self, _):
        self.session_started = True
        try:
            await self.run_checks()
        except Exception as e:  # any exception is a failed check, with its reason
            self.check(False, 'exception during the checks: %r' % (e,))
        self.finish()

    async def run_checks(self):
        mech = self['feature_mechanisms'].mech
        self.check(mech is not None and mech.name == MECHANISM,
                   'authenticated with %s (used: %s)'
                   % (MECHANISM, mech.name if mech else None))
        ssl_object = self.transport.get_extra_info('ssl_object')
        self.check('starttls' in self.features and ssl_object is not None,
                   'the stream runs over TLS after STARTTLS (%s)'
                   % (ssl_object.version() if ssl_object else 'no TLS'))
        self.check(self.boundjid.full == self.requested_jid.full,
                   'bound the requested resource: %s' % self.boundjid.full)

        roster = await self.get_roster(timeout=10)
        items = {str(jid): item['subscription']
                 for jid, item in roster['roster']['items'].items()}
        self.check(items.get(self.peer.bare) == 'both',
                   'roster lists %s with subscription both (roster: %s)'
                   % (self.peer.bare, items))

        self.send_presence()
        presence = await asyncio.wait_for(self.peer_presence, 10)
        caps = presence.xml.find('{%s}c' % CAPS_NS)
        self.check(caps is not None,
                   'peer presence carries a caps element: %s' % presence)
        if caps is not None:
            self.check(caps.get('node') == GOOGLE_CAPS_NODE,
                       'peer caps node is %s' % caps.get('node'))
            self.check('voice-v1' in (caps.get('ext') or '').split(),
                       'peer caps ext %r contains voice-v1' % caps.get('ext'))

        info = await self['xep_0030'].get_info(
            jid=self.peer, node=VOICE_NODE, local=False, cached=False, timeout=10)
        features = info['disco_info']['features']
        self.check(VOICE_FEATURE in features,
                   'peer disco#info for %s lists %s (features: %s)'
                   % (VOICE_NODE, VOICE_FEATURE, features))

        print('mechanism=%s tls=%s' % (mech.name if mech else None,
                                       'yes' if ssl_object is not None else 'no'),
              flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', required=True, help='server address (IP literal)')
    parser.add_argument('--port', required=True, type=int, help='server port')
    parser.add_argument('--jid', required=True, help='full JID to log in as')
    parser.add_argument('--password', required=True, help='account password')
    parser.add_argument('--peer', required=True, help='full JID of the simulated peer')
    parser.add_argument('--timeout', type=float, default=45,
                        help='seconds before giving up on the whole run')
    parser.add_argument('--debug', action='store_true', help='log the XML stream')
    args = parser.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format='%(levelname)s %(name)s: %(message)s')

    asyncio.set_event_loop(asyncio.new_event_loop())
    xmpp = Checker(args)
    xmpp.connect((args.host, args.port), force_starttls=True)
    loop = xmpp.loop
    try:
        loop.run_until_complete(asyncio.wait_for(xmpp.done, args.timeout))
    except asyncio.TimeoutError:
        xmpp.check(False, 'no verdict within %s s' % args.timeout)
    # Close the stream politely and wait for the server's </stream:stream>. slixmpp
    # records "End of stream" when the server's close arrives (and only then).
    if xmpp.transport is not None:
        try:
            loop.run_until_complete(
                asyncio.wait_for(xmpp.disconnect(wait=5), 10))
        except asyncio.TimeoutError:
            pass
        xmpp.check(xmpp.disconnect_reason == 'End of stream',
                   'the server answered our </stream:stream> with its own '
                   '(disconnect reason: %s)' % xmpp.disconnect_reason)
    # Let slixmpp's own background tasks end before the loop goes away.
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()
    if xmpp.failures:
        print('FAILED: %d check(s): %s' % (len(xmpp.failures),
                                           '; '.join(xmpp.failures)), flush=True)
        return 1
    print('PASSED', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
