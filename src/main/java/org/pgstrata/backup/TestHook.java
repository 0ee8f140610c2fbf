package org.pgstrata.backup;

/**
 * Crash injection for tests: with PGSTRATA_TEST_HALT_AT naming a step, the process stops dead
 * there, as kill -9 would (no clean-up, no shutdown hooks). Unset, it does nothing.
 */
final class TestHook {
    private static final String AT = System.getenv("PGSTRATA_TEST_HALT_AT");

    private TestHook() {
    }

    static void haltAt(String step) {
        if (step.equals(AT)) {
            Runtime.getRuntime().halt(137);
        }
    }
}
