import { useState } from "react";
import { api, ApiError } from "./api";

/** The login page: user name and password; the session cookie keeps it across reloads. */
export function Login({ onLoggedIn }: { onLoggedIn: () => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  return (
    <div className="login">
      <form aria-label="Log in" onSubmit={async (event) => {
        event.preventDefault();
        setBusy(true);
        setError("");
        try {
          await api.login(username, password);
          onLoggedIn();
        } catch (exc) {
          setError(exc instanceof ApiError ? exc.message : String(exc));
        } finally {
          setBusy(false);
        }
      }}>
        <h1>flowyard</h1>
        <input name="username" placeholder="User name" autoComplete="username" value={username}
               onChange={(e) => setUsername(e.target.value)} required autoFocus />
        <input name="password" type="password" placeholder="Password" autoComplete="current-password"
               value={password} onChange={(e) => setPassword(e.target.value)} required />
        <div className="error" role="alert">{error}</div>
        <button className="primary" type="submit" disabled={busy}>Log in</button>
      </form>
    </div>
  );
}
