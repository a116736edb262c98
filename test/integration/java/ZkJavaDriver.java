// Runs the ops of an ops file (zk_java_ops.h writes it: one op per line)
// on a ZooKeeper server through ZooKeeper's own Java client, one at a
// time, and writes one line per op: what it gave, and the watch events it
// caused. The differential test (zk_java_differential_test.cc) runs the
// same ops on synod and compares the lines.
//
// Usage: java ZkJavaDriver HOST:PORT DIGEST_USER:PASSWORD OPS_FILE OUT_FILE
//
// An outcome line is tab-separated key=value fields, always err= first:
//   err=CODE (KeeperException.Code's name; a client-side refusal of an
//   invalid path is BADARGUMENTS), name= (create), data=HEX,
//   stat=czxid,mzxid,pzxid,version,cversion,aversion,dataLength,
//   numChildren,ephemeral (0/1), kids=a,b (sorted), list=/a,/b (sorted),
//   count=N, who=scheme:user,..., rI.err= rI.data= rI.stat= rI.kids=
//   (multiRead's I-th result), and events=wTAG:Type:path ... (sorted).
// Each op's events are the ones told before a round trip made after it on
// every session: the server sends a write's notifications before its
// reply, and the client tells watchers and callbacks in the order it
// received them.
//
// Three sessions, one per kind of watcher: one-shot watches (and every
// other call) on the first, persistent watches on the second, recursive
// ones on the third. ZooKeeper 3.8 mixes up one session's watches of
// different modes: the server keeps one mode per session and path, the
// last set (ZOOKEEPER-4466), and the client tells a recursive watcher the
// NodeChildrenChanged events meant for the session's child watches
// (ZOOKEEPER-4475); both are fixed in 3.9, whose rules synod follows.
// Apart, each session's watches behave as 3.9's would together, so that
// the test compares synod's one session with them. 3.8's client removes
// persistent watches only with WatcherType.Any (3.9 adds types of their
// own, ZOOKEEPER-4472); the ops remove them so.

import java.io.BufferedReader;
import java.io.FileReader;
import java.io.FileWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Stat;

public final class ZkJavaDriver {
  private static final long TTL_MS = 3600L * 1000;

  private final String address;
  private final String credentials;
  private final List<String> events = Collections.synchronizedList(new ArrayList<>());
  private final Map<Integer, Watcher> watchers = new HashMap<>();
  // [0]: one-shot watches and every other call; [1]: persistent watches;
  // [2]: recursive watches.
  private final ZooKeeper[] sessions = new ZooKeeper[3];
  private ZooKeeper zk;  // sessions[0]

  private ZkJavaDriver(String address, String credentials) {
    this.address = address;
    this.credentials = credentials;
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 4) {
      System.err.println("usage: ZkJavaDriver HOST:PORT USER:PASSWORD OPS_FILE OUT_FILE");
      System.exit(2);
    }
    ZkJavaDriver driver = new ZkJavaDriver(args[0], args[1]);
    driver.connectAll();
    try (BufferedReader in = new BufferedReader(new FileReader(args[2], StandardCharsets.UTF_8));
        PrintWriter out = new PrintWriter(new FileWriter(args[3], StandardCharsets.UTF_8))) {
      for (String line; (line = in.readLine()) != null; ) {
        out.println(driver.run(line.split("\t", -1)));
      }
    }
    driver.closeAll();
  }

  // Opens the sessions, waits until they are connected, and adds the
  // digest identity to each.
  private void connectAll() throws Exception {
    for (int i = 0; i < sessions.length; ++i) {
      CountDownLatch connected = new CountDownLatch(1);
      sessions[i] = new ZooKeeper(address, 30000, event -> {
        if (event.getState() == Watcher.Event.KeeperState.SyncConnected) connected.countDown();
      });
      if (!connected.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("no session");
      sessions[i].addAuthInfo("digest", credentials.getBytes(StandardCharsets.UTF_8));
    }
    zk = sessions[0];
  }

  // Closes the first session (its ephemerals go, which the others' watches
  // see), then the others.
  private void closeAll() throws Exception {
    sessions[0].close();
    barrier();
    sessions[1].close();
    sessions[2].close();
  }

  // Watcher `tag`: one object per tag, so that registering it again is the
  // same watcher, as the client sees watchers.
  private Watcher watcher(int tag) {
    return watchers.computeIfAbsent(tag, t -> (WatchedEvent e) -> {
      if (e.getType() != Watcher.Event.EventType.None) {
        events.add("w" + t + ":" + e.getType() + ":" + e.getPath());
      }
    });
  }

  // Waits until everything the server sent before now has been told, on
  // every open session.
  private void barrier() throws Exception {
    for (ZooKeeper session : sessions) {
      if (!session.getState().isAlive()) continue;
      CountDownLatch done = new CountDownLatch(1);
      session.exists("/", false, (rc, path, ctx, stat) -> done.countDown(), null);
      if (!done.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("no barrier");
    }
  }

  private String run(String[] f) throws Exception {
    StringBuilder out = new StringBuilder();
    String error = "OK";
    try {
      call(f, out);
    } catch (KeeperException e) {
      error = e.code().name();
      out.setLength(0);
    } catch (IllegalArgumentException e) {
      error = "BADARGUMENTS";
      out.setLength(0);
    }
    barrier();
    List<String> told;
    synchronized (events) {
      told = new ArrayList<>(events);
      events.clear();
    }
    Collections.sort(told);
    StringBuilder line = new StringBuilder("err=").append(error).append(out);
    if (!told.isEmpty()) line.append("\tevents=").append(String.join(" ", told));
    return line.toString();
  }

  // Runs the op of fields `f`, appending its outcome fields to `out`.
  private void call(String[] f, StringBuilder out) throws Exception {
    String kind = f[0];
    String path = f[1];
    byte[] data = f[2].getBytes(StandardCharsets.UTF_8);
    int mode = Integer.parseInt(f[3]);
    int version = Integer.parseInt(f[4]);
    int tag = Integer.parseInt(f[5]);
    Watcher.WatcherType type = Watcher.WatcherType.fromInt(Integer.parseInt(f[6]));
    Stat stat = new Stat();
    switch (kind) {
      case "create": {
        CreateMode m = CreateMode.fromFlag(mode);
        boolean ttl = m == CreateMode.PERSISTENT_WITH_TTL
            || m == CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;
        String name = zk.create(path, data, ZooDefs.Ids.OPEN_ACL_UNSAFE, m, stat,
            ttl ? TTL_MS : -1);
        field(out, "name", name);
        field(out, "stat", stat(stat));
        return;
      }
      case "delete":
        zk.delete(path, version);
        return;
      case "set":
        field(out, "stat", stat(zk.setData(path, data, version)));
        return;
      case "getw":
        field(out, "data", hex(zk.getData(path, watcher(tag), stat)));
        field(out, "stat", stat(stat));
        return;
      case "existsw": {
        Stat s = zk.exists(path, watcher(tag));
        if (s != null) field(out, "stat", stat(s));
        return;
      }
      case "lsw":
        field(out, "kids", sorted(zk.getChildren(path, watcher(tag), stat)));
        field(out, "stat", stat(stat));
        return;
      case "addwatch":
        sessions[1 + mode].addWatch(path, watcher(tag),
            mode == 0 ? AddWatchMode.PERSISTENT : AddWatchMode.PERSISTENT_RECURSIVE);
        return;
      case "removewatch":
        // `mode`: the watcher's class, the index of its session.
        sessions[mode].removeWatches(path, watcher(tag), type, false);
        return;
      case "removewatches":
        if (type != Watcher.WatcherType.Any) {
          zk.removeAllWatches(path, type, false);
          return;
        }
        removeAllEverywhere(path);
        return;
      case "ephemerals":
        field(out, "list", sorted(zk.getEphemerals(path)));
        return;
      case "count":
        field(out, "count", Integer.toString(zk.getAllChildrenNumber(path)));
        return;
      case "multiread":
        multiRead(f[7], out);
        return;
      case "whoami": {
        List<String> who = new ArrayList<>();
        for (ClientInfo c : zk.whoAmI()) who.add(c.getAuthScheme() + ":" + c.getUser());
        field(out, "who", String.join(",", who));
        return;
      }
      case "restart":
        closeAll();
        connectAll();
        return;
      default:
        throw new IllegalStateException("unknown op " + kind);
    }
  }

  // removeAllWatches(path, Any) on every session: Ok if any held a watch
  // there, as on one session.
  private void removeAllEverywhere(String path) throws Exception {
    KeeperException none = null;
    boolean removed = false;
    for (ZooKeeper session : sessions) {
      try {
        session.removeAllWatches(path, Watcher.WatcherType.Any, false);
        removed = true;
      } catch (KeeperException.NoWatcherException e) {
        none = e;
      }
    }
    if (!removed) throw none;
  }

  private void multiRead(String reads, StringBuilder out) throws Exception {
    List<Op> ops = new ArrayList<>();
    for (String r : reads.split(",")) {
      String path = r.substring(2);
      ops.add(r.startsWith("c:") ? Op.getChildren(path) : Op.getData(path));
    }
    // 3.8's client fails a multiRead only for the call as a whole (an
    // invalid path, before sending it): each op has its own result.
    List<OpResult> results = zk.multi(ops);
    for (int i = 0; i < results.size(); ++i) {
      OpResult r = results.get(i);
      String p = "r" + i + ".";
      if (r instanceof OpResult.ErrorResult) {
        field(out, p + "err", KeeperException.Code.get(((OpResult.ErrorResult) r).getErr()).name());
      } else if (r instanceof OpResult.GetDataResult) {
        OpResult.GetDataResult d = (OpResult.GetDataResult) r;
        field(out, p + "err", "OK");
        field(out, p + "data", hex(d.getData()));
        field(out, p + "stat", stat(d.getStat()));
      } else if (r instanceof OpResult.GetChildrenResult) {
        field(out, p + "err", "OK");
        field(out, p + "kids", sorted(((OpResult.GetChildrenResult) r).getChildren()));
      } else {
        throw new IllegalStateException("unexpected result " + r);
      }
    }
  }

  private static void field(StringBuilder out, String key, String value) {
    out.append('\t').append(key).append('=').append(value);
  }

  private static String stat(Stat s) {
    return s.getCzxid() + "," + s.getMzxid() + "," + s.getPzxid() + "," + s.getVersion() + ","
        + s.getCversion() + "," + s.getAversion() + "," + s.getDataLength() + ","
        + s.getNumChildren() + "," + (s.getEphemeralOwner() != 0 ? 1 : 0);
  }

  private static String sorted(List<String> names) {
    List<String> copy = new ArrayList<>(names);
    Collections.sort(copy);
    return String.join(",", copy);
  }

  private static String hex(byte[] data) {
    StringBuilder s = new StringBuilder();
    if (data == null) return "null";
    for (byte b : data) s.append(String.format("%02x", b));
    return s.toString();
  }
}
