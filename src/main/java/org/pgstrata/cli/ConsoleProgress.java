package org.pgstrata.cli;

import java.io.PrintStream;
import org.pgstrata.api.Progress;

/**
 * Progress on stderr: each step on its own line, and on a terminal a bar for the work within a
 * step, redrawn at most five times a second. With --quiet, only warnings.
 */
final class ConsoleProgress implements Progress {
    private final PrintStream err;
    private final boolean terminal;
    private final boolean quiet;
    private long lastDraw;
    private boolean barShown;
    /** The status line on a terminal, while it is the last thing drawn, and since when: a long step shows its elapsed time. */
    private String statusText;
    private long statusSince;
    private Thread ticker;

    ConsoleProgress(PrintStream err, boolean quiet) {
        this.err = err;
        this.terminal = System.console() != null && System.getenv("CI") == null;
        this.quiet = quiet;
    }

    @Override
    public synchronized void step(String description) {
        if (quiet) {
            return;
        }
        clearBar();
        // Each step is one line, whatever the paths and names in it hold (a tablespace location may hold a line break).
        err.println("pgstrata: " + trace() + Output.line(description));
    }

    /** With PGSTRATA_TRACE set, each line says how long after the process started it was printed. */
    private static String trace() {
        if (System.getenv("PGSTRATA_TRACE") == null) {
            return "";
        }
        long startMillis = java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime();
        return String.format("[+%.3fs] ", (System.currentTimeMillis() - startMillis) / 1000.0);
    }

    @Override
    public synchronized void status(String description) {
        if (quiet) {
            return;
        }
        if (!terminal) {
            step(description);
            return;
        }
        description = Output.line(description);
        statusText = description.length() > 100 ? description.substring(0, 97) + "..." : description;
        statusSince = System.nanoTime();
        drawStatus();
        if (ticker == null) {
            // Redraws the status line once a second, so that a step that takes long says for how long it has run.
            ticker = new Thread(() -> {
                while (true) {
                    try {
                        Thread.sleep(1000);
                    } catch (InterruptedException e) {
                        return;
                    }
                    synchronized (this) {
                        if (statusText != null) {
                            drawStatus();
                        }
                    }
                }
            }, "pgstrata-progress");
            ticker.setDaemon(true);
            ticker.start();
        }
    }

    private void drawStatus() {
        long seconds = (System.nanoTime() - statusSince) / 1_000_000_000L;
        err.print("\r\033[K  " + statusText + (seconds >= 2 ? " (" + seconds + " s)" : ""));
        err.flush();
        barShown = true;
    }

    @Override
    public synchronized void advance(long done, long total) {
        if (quiet || !terminal) {
            return;
        }
        long now = System.nanoTime();
        if (now - lastDraw < 200_000_000L && done < total) {
            return;
        }
        lastDraw = now;
        statusText = null; // the bar replaces the status line
        int width = 30;
        if (total > 0) {
            int filled = (int) Math.min(width, width * done / total);
            err.print("\r  [" + "#".repeat(filled) + " ".repeat(width - filled) + "] "
                    + String.format("%3d%%", Math.min(100, 100 * done / total)) + "  " + done + "/" + total + "   ");
        } else {
            err.print("\r  " + done + "   ");
        }
        err.flush();
        barShown = true;
    }

    @Override
    public synchronized void warn(String message) {
        clearBar();
        err.println("pgstrata: warning: " + Output.line(message));
    }

    private void clearBar() {
        statusText = null;
        if (barShown) {
            err.print("\r\033[K");
            barShown = false;
        }
    }
}
