// guard-ui: sign in with the people token, then the services, one service's Guardian, and the
// alerts. Routing is the URL's fragment (#/service/ns/name/rules), so every view can be bookmarked
// and nothing but the page itself is asked of guard-service.
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Api, ApiFailure, saveToken, savedToken } from './api.js';
import { AlertsView } from './views/alerts.js';
import { ServiceView, type Tab } from './views/service.js';
import { ServicesView } from './views/services.js';
import './style.css';

type Route = { view: 'services' } | { view: 'alerts' } | { view: 'service'; namespace: string; service: string; tab: Tab };

const TABS: Tab[] = ['overview', 'rules', 'routes', 'alerts', 'try', 'source'];

function routeOf(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'alerts') return { view: 'alerts' };
  if (parts[0] === 'service' && parts[1] && parts[2]) {
    const tab = (TABS as string[]).includes(parts[3]) ? (parts[3] as Tab) : 'overview';
    return { view: 'service', namespace: parts[1], service: parts[2], tab };
  }
  return { view: 'services' };
}

function useRoute(): Route {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = (): void => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return routeOf(hash);
}

function SignIn(props: { onSignIn(token: string): void; problem: string | null }) {
  const [token, setToken] = useState('');
  const [checking, setChecking] = useState(false);
  const [problem, setProblem] = useState(props.problem);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setChecking(true);
    try {
      await new Api(token.trim()).overview();
      props.onSignIn(token.trim());
    } catch (err) {
      setProblem(err instanceof ApiFailure && err.status === 401 ? 'guard-service did not accept this token.' : (err as Error).message);
    } finally {
      setChecking(false);
    }
  };
  return (
    <main class="sign-in">
      <h1>Guard</h1>
      <form onSubmit={submit}>
        <label for="token">People token</label>
        <p class="hint">The bearer token of guard-service's people API: the one it printed at start (or wrote to GUARD_SERVICE_PEOPLE_TOKEN_FILE), or a Kubernetes token in a cluster.</p>
        <input id="token" type="password" autoComplete="off" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} autoFocus />{' '}
        <button type="submit" class="primary" disabled={checking || token.trim() === ''}>
          {checking ? 'Checking…' : 'Sign in'}
        </button>
        {problem && (
          <p class="error" role="alert">
            {problem}
          </p>
        )}
      </form>
    </main>
  );
}

function App() {
  const [token, setToken] = useState<string | null>(savedToken());
  const [problem, setProblem] = useState<string | null>(null);
  const route = useRoute();
  const api = useMemo(() => (token ? new Api(token) : null), [token]);
  const signOut = (why: string | null): void => {
    saveToken(null);
    setToken(null);
    setProblem(why);
  };
  if (!api) {
    return (
      <SignIn
        problem={problem}
        onSignIn={(t) => {
          saveToken(t);
          setToken(t);
        }}
      />
    );
  }
  return (
    <>
      <header class="top">
        <a class="brand" href="#/">
          Guard
        </a>
        <nav aria-label="Main">
          <a href="#/" aria-current={route.view === 'services' ? 'page' : undefined}>
            Services
          </a>
          <a href="#/alerts" aria-current={route.view === 'alerts' ? 'page' : undefined}>
            Alerts
          </a>
        </nav>
        <button type="button" class="sign-out" onClick={() => signOut(null)}>
          Sign out
        </button>
      </header>
      <main>
        {route.view === 'services' && <ServicesView api={api} />}
        {route.view === 'alerts' && (
          <div>
            <h2>Alerts</h2>
            <AlertsView api={api} />
          </div>
        )}
        {route.view === 'service' && <ServiceView key={`${route.namespace}/${route.service}`} api={api} namespace={route.namespace} service={route.service} tab={route.tab} />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
