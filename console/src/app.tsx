/**
 * The console: the sign-in screen until someone signs in, then the shell with its pages. The
 * shell (AppLayout, the navigation, the page registry) is its own chunk, loaded when the browser is
 * idle after the sign-in form is shown or at the latest on sign-in: the first page carries only
 * what the sign-in form needs.
 */
import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from "react";
import Box from "@cloudscape-design/components/box";
import { ErrorBoundary } from "./errors";
import { SessionContext, type Session } from "./session";
import { SignIn } from "./signin";
import { navigate } from "./router";

const loadShell = () => import("./shell");
const Shell = lazy(() => loadShell().then((m) => ({ default: m.Shell })));

export function App() {
  const [session, setSession] = useState<Session | undefined>(undefined);
  const signOut = useCallback(() => {
    // The credentials go with the state that held them; the route goes back to the start so the
    // next person does not land on the last one's page.
    setSession(undefined);
    navigate("/");
  }, []);
  const value = useMemo(() => (session ? { session, signOut } : undefined), [session, signOut]);
  useEffect(() => {
    const load = () => void loadShell().catch(() => undefined);
    if (typeof window.requestIdleCallback === "function") window.requestIdleCallback(load, { timeout: 3000 });
    else setTimeout(load, 500);
  }, []);
  if (!value) return <SignIn onSignedIn={setSession} />;
  return (
    <SessionContext.Provider value={value}>
      <ErrorBoundary resetKey="shell">
        <Suspense fallback={<Box padding="l">Loading…</Box>}>
          <Shell />
        </Suspense>
      </ErrorBoundary>
    </SessionContext.Provider>
  );
}
