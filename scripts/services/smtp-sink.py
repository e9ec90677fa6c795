#!/usr/bin/python3
# dvbackup's SMTP test server (started by scripts/services/start-smtp.sh; run it with Debian's
# /usr/bin/python3, which has python3-aiosmtpd). ONE process, several listeners on 127.0.0.1,
# each storing every message it accepts in the same mail directory:
#
#   <maildir>/NNNNNN.json  {"listener", "port", "mail_from", "rcpt_tos", "mail_options",
#                           "rcpt_options", "auth_user", "auth_mechanism", "tls",
#                           "tls_version", "host_name" (the EHLO/HELO name), "peer",
#                           "size", "received_at"}
#   <maildir>/NNNNNN.eml   the message as received after DATA (dot-unstuffed, line ends as sent)
#
# Both are written to a temporary name and renamed, the .json first, the .eml last: once the
# .eml exists, both files are complete. NNNNNN counts from 000001 across all listeners.
#
# usage: smtp-sink.py CONFIG.json   where CONFIG is
#   {"maildir": DIR, "cert": PEM, "key": PEM, "auth_user": U, "auth_password": P,
#    "max_size": BYTES, "listeners": [{"name": N, "port": P, "mode": MODE}, ...]}
# MODE: plain     no TLS, no AUTH
#       starttls  offers STARTTLS and requires it before MAIL (530 otherwise)
#       smtps     implicit TLS (TLS from the first byte)
#       auth      AUTH PLAIN and LOGIN offered and required before MAIL (530 otherwise; a
#                 wrong password gets 535), also without TLS
#       refuse    accepts the connection, EHLO and MAIL FROM, answers every RCPT TO with
#                 "550 5.7.1 relaying denied", so nothing is ever accepted
# Prints "listening <name> <port>" lines, then "ready", on stdout.
import asyncio
import datetime
import itertools
import json
import os
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

# The "auth" listener requires AUTH without TLS on purpose.
warnings.filterwarnings('ignore', message='Requiring AUTH while not requiring TLS')
cfg = json.load(open(sys.argv[1]))
maildir = cfg['maildir']
counter = itertools.count(1)


class Credentials:
    """What the authenticator hands back to aiosmtpd as session.auth_data."""
    def __init__(self, login, mechanism):
        self.login = login
        self.mechanism = mechanism


class Store:
    def __init__(self, name, port):
        self.name, self.port = name, port

    async def handle_DATA(self, server, session, envelope):
        n = next(counter)
        base = os.path.join(maildir, '%06d' % n)
        content = envelope.original_content if envelope.original_content is not None else envelope.content
        ssl_object = server.transport.get_extra_info('ssl_object') if server.transport else None
        auth = session.auth_data if isinstance(session.auth_data, Credentials) else None
        meta = {
            'listener': self.name,
            'port': self.port,
            'mail_from': envelope.mail_from,
            'rcpt_tos': envelope.rcpt_tos,
            'mail_options': envelope.mail_options,
            'rcpt_options': envelope.rcpt_options,
            'auth_user': auth.login if auth else None,
            'auth_mechanism': auth.mechanism if auth else None,
            'tls': ssl_object is not None,
            'tls_version': ssl_object.version() if ssl_object is not None else None,
            'host_name': session.host_name,
            'peer': list(session.peer)[:2] if session.peer else None,
            'size': len(content),
            'received_at': datetime.datetime.now(datetime.timezone.utc).isoformat(),
        }
        with open(base + '.json.tmp', 'w') as f:
            json.dump(meta, f, indent=1)
        with open(base + '.eml.tmp', 'wb') as f:
            f.write(content)
        os.rename(base + '.json.tmp', base + '.json')
        os.rename(base + '.eml.tmp', base + '.eml')
        return '250 2.0.0 OK stored as %06d' % n


class Refuse(Store):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return '550 5.7.1 relaying denied'

    async def handle_DATA(self, server, session, envelope):   # never reached (no recipient)
        return '554 5.7.1 relaying denied'


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and auth_data.login.decode('utf-8', 'replace') == cfg['auth_user']
          and auth_data.password.decode('utf-8', 'replace') == cfg['auth_password'])
    creds = Credentials(auth_data.login.decode('utf-8', 'replace'), mechanism) if ok else None
    return AuthResult(success=ok, handled=False, auth_data=creds)


ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cfg['cert'], cfg['key'])


def factory(name, port, mode):
    kw = dict(hostname='localhost', ident='dvbackup test SMTP (%s)' % name,
              data_size_limit=int(cfg.get('max_size', 33554432)))
    handler = Store(name, port)
    if mode == 'starttls':
        kw.update(tls_context=ctx, require_starttls=True)
    elif mode == 'auth':
        kw.update(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    elif mode == 'refuse':
        handler = Refuse(name, port)
    elif mode not in ('plain', 'smtps'):
        raise SystemExit('unknown listener mode %r' % mode)
    return lambda: SMTP(handler, **kw)


async def main():
    loop = asyncio.get_running_loop()
    servers = []
    for lst in cfg['listeners']:
        name, port, mode = lst['name'], int(lst['port']), lst['mode']
        servers.append(await loop.create_server(
            factory(name, port, mode), '127.0.0.1', port,
            ssl=ctx if mode == 'smtps' else None, reuse_address=True))
        print('listening', name, port, flush=True)
    print('ready', flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
