package org.pgstrata.storage.s3;

import java.util.concurrent.CompletableFuture;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.scheme.AwsV4AuthScheme;
import software.amazon.awssdk.http.auth.spi.scheme.AuthScheme;
import software.amazon.awssdk.http.auth.spi.signer.AsyncSignRequest;
import software.amazon.awssdk.http.auth.spi.signer.AsyncSignedRequest;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignRequest;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.identity.spi.IdentityProvider;
import software.amazon.awssdk.identity.spi.IdentityProviders;

/**
 * SigV4 as the SDK signs over https, also over plain http: the request (method, path, query,
 * headers, and so the key and the conditions such as If-None-Match) is signed, the body is sent
 * as {@code UNSIGNED-PAYLOAD} and as it is.
 *
 * <p>Over http the SDK always signs the body: a SHA-256 of every byte, in 128 KiB chunks each
 * signed again (aws-chunked), which the server verifies too. In pgstrata's JVM (C1 only, no
 * SHA intrinsics) that was the largest CPU cost of a backup to a local S3 server, more than
 * computing the page checksums of the whole database. Over https the SDK already sends bodies
 * unsigned, and TLS protects them; over http what the signature of a body bought is a corrupt
 * upload refused at once rather than found at the next read. pgstrata does not rely on it:
 * every object it reads is checked against a checksum it wrote itself (data objects against
 * the manifest's, metadata in its CRC-32C envelope, archived WAL against its header's XXH64),
 * so a body changed on the way, or later on the server's disk, fails the read that uses it,
 * and {@code verify} reads them all. Plain http never kept a body secret or a download intact
 * anyway: responses are not signed.
 *
 * <p>The canonical request that SigV4 signs does not contain the scheme, so the request is
 * signed as if it were https (on a port that gives the same Host header) and sent over http
 * with the same headers.
 */
final class UnsignedPayloads implements AuthScheme<AwsCredentialsIdentity> {
    private final AwsV4AuthScheme sigv4 = AwsV4AuthScheme.create();
    private final HttpSigner<AwsCredentialsIdentity> signer = new Signer(sigv4.signer());

    @Override
    public String schemeId() {
        return AwsV4AuthScheme.SCHEME_ID;
    }

    @Override
    public IdentityProvider<AwsCredentialsIdentity> identityProvider(IdentityProviders providers) {
        return sigv4.identityProvider(providers);
    }

    @Override
    public HttpSigner<AwsCredentialsIdentity> signer() {
        return signer;
    }

    private record Signer(HttpSigner<AwsCredentialsIdentity> delegate) implements HttpSigner<AwsCredentialsIdentity> {
        @Override
        public SignedRequest sign(SignRequest<? extends AwsCredentialsIdentity> request) {
            SdkHttpRequest http = request.request();
            int port = http.port();
            if (!"http".equals(http.protocol()) || port == 443) {
                return delegate.sign(request);
            }
            // The Host header leaves out a port that is the scheme's standard one: 80 for http is 443 for https.
            SdkHttpRequest asHttps = http.toBuilder().protocol("https").port(port == 80 ? 443 : port).build();
            SignedRequest signed = delegate.sign(request.copy(b -> b.request(asHttps)));
            SdkHttpRequest back = signed.request().toBuilder().protocol("http").port(port).build();
            return signed.copy(b -> b.request(back));
        }

        @Override
        public CompletableFuture<AsyncSignedRequest> signAsync(AsyncSignRequest<? extends AwsCredentialsIdentity> request) {
            return delegate.signAsync(request); // the synchronous client never asks
        }
    }
}
