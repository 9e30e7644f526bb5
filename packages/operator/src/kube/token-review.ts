/** TokenReview through the API server, for the operator's endpoint. */
import type { TokenReviewFn, TokenReviewResult } from "@beyla-ts/shared";
import type { KubeClient } from "./rest.js";

interface TokenReview {
  status?: { authenticated?: boolean; user?: { username?: string }; error?: string };
}

/** Reviews a token; with `audiences`, only tokens issued for one of them are authenticated. */
export function tokenReview(client: KubeClient, audiences?: readonly string[]): TokenReviewFn {
  return async (token) => {
    const review = await client.request<TokenReview>(
      "POST",
      "/apis/authentication.k8s.io/v1/tokenreviews",
      {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec: audiences === undefined ? { token } : { token, audiences: [...audiences] },
      },
    );
    const status = review.status ?? {};
    const result: TokenReviewResult = { authenticated: status.authenticated === true };
    if (status.user?.username !== undefined) result.username = status.user.username;
    if (status.error !== undefined && status.error !== "") result.error = status.error;
    return result;
  };
}
