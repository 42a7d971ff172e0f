/** The console: the sign-in screen until someone signs in, then the shell with its pages. */
import { useCallback, useMemo, useState } from "react";
import { SessionContext, type Session } from "./session";
import { SignIn } from "./signin";
import { Shell } from "./shell";
import { navigate } from "./router";

export function App() {
  const [session, setSession] = useState<Session | undefined>(undefined);
  const signOut = useCallback(() => {
    // The credentials go with the state that held them; the route goes back to the start so the
    // next person does not land on the last one's page.
    setSession(undefined);
    navigate("/");
  }, []);
  const value = useMemo(() => (session ? { session, signOut } : undefined), [session, signOut]);
  if (!value) return <SignIn onSignedIn={setSession} />;
  return (
    <SessionContext.Provider value={value}>
      <Shell />
    </SessionContext.Provider>
  );
}
