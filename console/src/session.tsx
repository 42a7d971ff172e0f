/**
 * Who is signed in: their credentials and identity, held in React state only. Never written to
 * localStorage, sessionStorage, a cookie or the URL: closing or reloading the tab signs out, and
 * signing out drops the only reference to them.
 */
import { createContext, useContext } from "react";

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export interface Session {
  credentials: Credentials;
  region: string;
  /** From STS GetCallerIdentity. */
  arn: string;
  account: string;
  /** The last part of the ARN: the user name, or "root". */
  name: string;
}

export interface SessionContextValue {
  session: Session;
  signOut(): void;
}

export const SessionContext = createContext<SessionContextValue | undefined>(undefined);

/** The signed-in session; only pages rendered inside the shell (after sign-in) call this. */
export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession outside a signed-in console");
  return value;
}

/** A readable name for an identity ARN: arn:aws:iam::111122223333:user/alice → alice. */
export function nameOfArn(arn: string): string {
  const resource = arn.split(":").slice(5).join(":");
  if (resource === "root") return "root";
  const parts = resource.split("/");
  return parts[parts.length - 1] || resource;
}
