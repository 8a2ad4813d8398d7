// VI/JSON sessions: Login answers a UserSession and the
// `vmware-api-session-id` that every later call sends. With ACLs off any
// login is accepted (a lab vCenter); with ACLs on the password is a volumed
// token secret, and the session acts with that token's policies. Sessions
// live in this process and end at Logout or after 30 idle minutes.

import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Volumed } from '../../app/open.js';
import { UnauthenticatedError } from '../../domain/errors.js';
import { fault, VimFault } from './faults.js';
import type { VimObject } from './views.js';

export const SESSION_HEADER = 'vmware-api-session-id';
const IDLE_MS = 30 * 60_000;
const MAX_SESSIONS = 10_000;

export interface Session {
  readonly key: string;
  readonly userName: string;
  /** The token secret the session acts with (ACLs on). */
  readonly secret: string | undefined;
  readonly loginTime: string;
  lastActive: number;
  callCount: number;
  readonly ipAddress: string;
  readonly userAgent: string;
}

export class Sessions {
  private readonly byKey = new Map<string, Session>();

  constructor(private readonly volumed: Volumed) {}

  async login(req: FastifyRequest, userName: string, password: string): Promise<Session> {
    if (this.volumed.acl.enabled) {
      try {
        await this.volumed.acl.identify(password);
      } catch (e) {
        if (e instanceof UnauthenticatedError) throw new VimFault(fault('InvalidLogin', 'Cannot complete login due to an incorrect user name or password.'));
        throw e;
      }
    }
    this.sweep();
    const session: Session = {
      key: randomBytes(20).toString('hex'),
      userName,
      secret: this.volumed.acl.enabled ? password : undefined,
      loginTime: new Date().toISOString(),
      lastActive: Date.now(),
      callCount: 0,
      ipAddress: req.ip,
      userAgent: String(req.headers['user-agent'] ?? ''),
    };
    this.byKey.set(session.key, session);
    return session;
  }

  /** The live session a request names, or the NotAuthenticated fault. */
  use(req: FastifyRequest): Session {
    const key = req.headers[SESSION_HEADER];
    const session = typeof key === 'string' ? this.byKey.get(key) : undefined;
    if (!session || Date.now() - session.lastActive > IDLE_MS) {
      if (session) this.byKey.delete(session.key);
      throw new VimFault(fault('NotAuthenticated', 'The session is not authenticated: log in with SessionManager Login and send its vmware-api-session-id header.', { object: { _typeName: 'ManagedObjectReference', type: 'SessionManager', value: 'SessionManager' }, privilegeId: 'System.View' }));
    }
    session.lastActive = Date.now();
    session.callCount++;
    return session;
  }

  logout(session: Session): void {
    this.byKey.delete(session.key);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, s] of this.byKey) if (now - s.lastActive > IDLE_MS) this.byKey.delete(key);
    // At the cap, the longest idle go first (Map keeps insertion order; activity does not reorder, so this is oldest login).
    while (this.byKey.size >= MAX_SESSIONS) {
      const oldest = this.byKey.keys().next().value;
      if (oldest === undefined) break;
      this.byKey.delete(oldest);
    }
  }
}

export function userSessionView(s: Session): VimObject {
  return {
    _typeName: 'UserSession',
    key: s.key,
    userName: s.userName,
    fullName: s.userName,
    loginTime: s.loginTime,
    lastActiveTime: new Date(s.lastActive).toISOString(),
    locale: 'en',
    messageLocale: 'en',
    extensionSession: false,
    ipAddress: s.ipAddress,
    userAgent: s.userAgent,
    callCount: s.callCount,
  };
}
