package org.pgstrata.storage.s3;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.exception.SdkClientException;

/** S3 failures as the one line a person reads. */
class S3ErrorsTest {
    private static final S3Location WHERE = S3Location.parse("s3://bucket/prefix");

    @Test
    void noCredentials_isSaidShortly_withWhereToPutThem() {
        // The SDK's own message names every provider of its chain and why each found nothing.
        StringBuilder chain = new StringBuilder("Unable to load credentials from any of the providers in the chain "
                + "AwsCredentialsProviderChain(credentialsProviders=[SystemPropertyCredentialsProvider(), EnvironmentVariableCredentialsProvider()]) : [");
        for (int i = 0; i < 8; i++) {
            chain.append("Provider").append(i).append("(): Unable to load credentials from this provider because of a reason that takes words., ");
        }
        String said = S3Errors.io("reading repo.json", WHERE, SdkClientException.builder().message(chain + "]").build()).getMessage();
        assertThat(chain.length()).isGreaterThan(900);
        assertThat(said).hasSizeLessThan(300).contains("unable to load credentials").contains("AWS_ACCESS_KEY_ID").doesNotContain("Provider3");
    }

    @Test
    void anyOtherLongMessage_isCut() {
        String said = S3Errors.brief(SdkClientException.builder().message("x".repeat(5000)).build());
        assertThat(said).hasSizeLessThan(400).endsWith("...");
    }
}
