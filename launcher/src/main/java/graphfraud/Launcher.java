package graphfraud;

import java.nio.file.Files;
import java.nio.file.Path;

import org.neo4j.cli.AdminTool;
import org.neo4j.cli.ExecutionContext;
import org.neo4j.server.CommunityEntryPoint;

/**
 * Runs Neo4j Community 5.26 in the foreground for `graphfraud neo4j start`.
 *
 * Usage: java -cp ... graphfraud.Launcher --home-dir=HOME --config-dir=CONF
 *
 * On the first start (no auth store yet) it sets the initial password of the
 * `neo4j` user from the environment variable GRAPHFRAUD_INITIAL_PASSWORD, the
 * same way `neo4j-admin dbms set-initial-password` does, so the password never
 * appears on a command line. Then it hands over to Neo4j's own entry point,
 * which serves Bolt (and HTTP with Neo4j Browser) and shuts down cleanly on SIGTERM.
 */
public final class Launcher {
    public static void main(String[] args) {
        Path home = null;
        Path conf = null;
        for (String a : args) {
            if (a.startsWith("--home-dir=")) home = Path.of(a.substring("--home-dir=".length()));
            if (a.startsWith("--config-dir=")) conf = Path.of(a.substring("--config-dir=".length()));
        }
        if (home == null || conf == null) {
            System.err.println("usage: Launcher --home-dir=HOME --config-dir=CONF");
            System.exit(64);
        }
        String password = System.getenv("GRAPHFRAUD_INITIAL_PASSWORD");
        Path authStore = home.resolve("data").resolve("dbms").resolve("auth.ini");
        if (password != null && !password.isEmpty() && !Files.exists(authStore)) {
            int rc = AdminTool.execute(new ExecutionContext(home, conf),
                    "dbms", "set-initial-password", password);
            if (rc != 0) {
                System.err.println("graphfraud launcher: setting the initial password failed (exit " + rc + ")");
                System.exit(rc);
            }
        }
        CommunityEntryPoint.main(args);
    }
}
