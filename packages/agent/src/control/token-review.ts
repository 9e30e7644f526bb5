/** TokenReview through the API server, for the control endpoint's BearerAuth. */
import { AuthenticationV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { TokenReviewFn, TokenReviewResult } from "@beyla-ts/shared";

/** A TokenReview through the API server; `audiences` binds accepted tokens to them. */
export function kubeTokenReview(kc: KubeConfig, audiences?: readonly string[]): TokenReviewFn {
  const api = kc.makeApiClient(AuthenticationV1Api);
  return async (token) => {
    const review = await api.createTokenReview({
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec: audiences === undefined ? { token } : { token, audiences: [...audiences] },
      },
    });
    const status = review.status ?? {};
    const result: TokenReviewResult = { authenticated: status.authenticated === true };
    if (status.user?.username !== undefined) result.username = status.user.username;
    if (status.error !== undefined && status.error !== "") result.error = status.error;
    return result;
  };
}
