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
 * and broken connections), which also says each retry in verbose output: what failed, which
 * attempt comes next and after how long.
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
        if (Verbose.enabled()) {
            Verbose.log(String.format("S3 request to %s failed (%s); retrying in %.1f s (at most %d attempts)", where,
                    S3Errors.brief(request.failure()), response.delay().toMillis() / 1000.0, delegate.maxAttempts()));
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
