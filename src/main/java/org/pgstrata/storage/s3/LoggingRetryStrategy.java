package org.pgstrata.storage.s3;

import org.pgstrata.api.Verbose;
import software.amazon.awssdk.retries.api.AcquireInitialTokenRequest;
import software.amazon.awssdk.retries.api.AcquireInitialTokenResponse;
import software.amazon.awssdk.retries.api.RecordSuccessRequest;
import software.amazon.awssdk.retries.api.RecordSuccessResponse;
import software.amazon.awssdk.retries.api.RefreshRetryTokenRequest;
import software.amazon.awssdk.retries.api.RefreshRetryTokenResponse;
import software.amazon.awssdk.retries.api.RetryStrategy;

/**
 * The SDK's standard retry strategy (exponential backoff with jitter on 5xx, throttling, timeouts
 * and broken connections), which also says each retry: what failed, and after how long the next
 * attempt comes. A request that got no answer (a timeout, a refused or broken connection) is
 * said always, as a warning: an endpoint that accepts connections and never answers kept a
 * command silent for every attempt's socket timeout. One that the store answered (throttling, a
 * 5xx), which comes back at once, is said in verbose output only.
 */
final class LoggingRetryStrategy implements RetryStrategy {
    private final RetryStrategy delegate;
    private final String where;

    LoggingRetryStrategy(RetryStrategy delegate, String where) {
        this.delegate = delegate;
        this.where = where;
    }

    @Override
    public AcquireInitialTokenResponse acquireInitialToken(AcquireInitialTokenRequest request) {
        return delegate.acquireInitialToken(request);
    }

    @Override
    public RefreshRetryTokenResponse refreshRetryToken(RefreshRetryTokenRequest request) {
        // Throws when the failure is not retryable or the attempts are used up: nothing to say then.
        RefreshRetryTokenResponse response = delegate.refreshRetryToken(request);
        boolean unanswered = !(request.failure() instanceof software.amazon.awssdk.core.exception.SdkServiceException);
        if (unanswered || Verbose.enabled()) {
            String line = String.format("S3 request to %s failed (%s); retrying in %.1f s (at most %d attempts)", where,
                    S3Errors.brief(request.failure()), response.delay().toMillis() / 1000.0, delegate.maxAttempts());
            if (unanswered) {
                Verbose.warn(line);
            } else {
                Verbose.log(line);
            }
        }
        return response;
    }

    @Override
    public RecordSuccessResponse recordSuccess(RecordSuccessRequest request) {
        return delegate.recordSuccess(request);
    }

    @Override
    public int maxAttempts() {
        return delegate.maxAttempts();
    }

    @Override
    public boolean useClientDefaults() {
        return false;
    }

    @Override
    public Builder<?, ?> toBuilder() {
        return delegate.toBuilder();
    }
}
