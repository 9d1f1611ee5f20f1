// A typed client of Tether's API, generated from docs/openapi.json (`npm run generate`
// writes schema.d.ts) and used through openapi-fetch. CI compiles this file, so a change to
// the spec that breaks typed callers fails there.

import createClient from "openapi-fetch";

import type { components, paths } from "./schema.d.ts";

type Integration = components["schemas"]["IntegrationOut"];
type ErrorBody = components["schemas"]["ErrorBody"];

/** A client for one caller: a user's JWT or a service key (`tk_…`). */
export function tether(baseUrl: string, bearer: string) {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${bearer}` } });
}

/** The frontend: "which accounts have I connected". */
export async function myIntegrations(userJwt: string): Promise<Integration[]> {
  const { data, error } = await tether("http://127.0.0.1:8080", userJwt).GET("/api/v1/integrations");
  if (error) throw new Error(`${error.code}: ${error.message}`);
  return data;
}

/** The frontend: "connect my Google Calendar" — returns the URL to open in the browser. */
export async function connectGoogle(userJwt: string): Promise<string> {
  const { data, error } = await tether("http://127.0.0.1:8080", userJwt).POST(
    "/api/v1/integrations/{provider}/authorize",
    {
      params: { path: { provider: "google" } },
      body: {
        return_to: "http://127.0.0.1:8080/",
        scopes: ["https://www.googleapis.com/auth/calendar.readonly"],
      },
    },
  );
  if (error) throw new Error(`${error.code}: ${error.message}`);
  return data.start_url;
}

/** A backend service: a valid access token, or why there is none. */
export async function accessToken(
  serviceKey: string,
  integrationId: string,
): Promise<{ token: string; expiresAt: string | null } | { refused: ErrorBody; status: number }> {
  const { data, error, response } = await tether("http://127.0.0.1:8080", serviceKey).GET(
    "/api/v1/integrations/{id}/token",
    { params: { path: { id: integrationId }, query: { purpose: "calendar sync" } } },
  );
  if (error) {
    // 409 reauth_required: the user must reconnect; 503: retry after Retry-After.
    return { refused: error, status: response.status };
  }
  return { token: data.access_token, expiresAt: data.expires_at ?? null };
}

/** Statuses are closed sets: a switch over them is checked for exhaustiveness. */
export function describe(integration: Integration): string {
  switch (integration.status) {
    case "active":
      return "connected";
    case "degraded":
      return "connected, with trouble refreshing";
    case "reauth_required":
    case "insufficient_scopes":
      return "needs reconnecting";
    case "revoked":
      return "disconnected";
    default: {
      const unknown: never = integration.status;
      return unknown;
    }
  }
}
