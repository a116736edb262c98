// Runs ZooKeeper's own zkCli (ZooKeeperMain) on many commands in one JVM:
// each command on a new session, as `zkCli.sh -server S <command>` runs
// it, with what it prints (stdout and stderr) and the exit status zkCli
// would exit with. Starting a JVM per command cost most of
// zk_cli_differential_test.cc's time.
//
// Usage: ZkCliBatch SERVER COMMANDS_FILE RESULTS_FILE
// COMMANDS_FILE has one command per line (zkCli's words). RESULTS_FILE
// gets, per command, a line "<exit status> <byte count>" and then that
// many bytes of output.

import java.io.ByteArrayOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;

import org.apache.zookeeper.ZooKeeperMain;

public class ZkCliBatch {
  // Where System.out and System.err go: the current command's buffer.
  // zkCli's commands keep the System.out they saw when ZooKeeperMain's
  // class was loaded, so this is installed before that.
  private static final class Switch extends OutputStream {
    ByteArrayOutputStream target = new ByteArrayOutputStream();

    @Override
    public synchronized void write(int b) {
      target.write(b);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
      target.write(b, off, len);
    }

    synchronized byte[] take() {
      byte[] bytes = target.toByteArray();
      target = new ByteArrayOutputStream();
      return bytes;
    }
  }

  // zkCli on one command (loaded only once the streams are switched).
  private static final class Runner extends ZooKeeperMain {
    Runner(String[] args) throws IOException, InterruptedException {
      super(args);
    }

    int runCommand() throws IOException, InterruptedException {
      processCmd(cl);
      zk.close();
      return exitCode;
    }
  }

  public static void main(String[] args)
      throws IOException, InterruptedException {
    String server = args[0];
    List<String> commands =
        Files.readAllLines(Paths.get(args[1]), StandardCharsets.UTF_8);
    Switch sink = new Switch();
    PrintStream capture = new PrintStream(sink, true, "UTF-8");
    System.setOut(capture);
    System.setErr(capture);
    try (OutputStream results = new FileOutputStream(args[2])) {
      for (String command : commands) {
        if (command.isEmpty()) continue;
        String[] words = ("-server " + server + " " + command).split(" ");
        int exit = new Runner(words).runCommand();
        capture.flush();
        byte[] bytes = sink.take();
        results.write((exit + " " + bytes.length + "\n")
                          .getBytes(StandardCharsets.UTF_8));
        results.write(bytes);
      }
    }
    System.exit(0);
  }
}
