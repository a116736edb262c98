// Reads ZooKeeper protocol records that synod's codec (lib/zkwire/) wrote,
// with ZooKeeper's own jute classes, and writes them back. The codec test
// (zk_jute_check_test.cc) sends one record per line on stdin:
//
//   request HEX                a request frame body (header and record)
//   reply OPCODE HEX           a reply frame body to a request of OPCODE
//   notification HEX           a watch notification frame body
//   connect_request HEX        ConnectRequest and the read-only flag
//   connect_response HEX       ConnectResponse and the read-only flag
//
// and writes one line per record to the file named by its argument (not
// stdout, where ZooKeeper's logging may write): "ok HEX" (what ZooKeeper's
// classes wrote after reading it, every input byte consumed) or
// "error WHY". A
// record ZooKeeper reads whole and writes back byte for byte is one
// ZooKeeper's servers and clients read as synod meant it.

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileWriter;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import org.apache.jute.BinaryInputArchive;
import org.apache.jute.BinaryOutputArchive;
import org.apache.jute.Record;
import org.apache.zookeeper.MultiOperationRecord;
import org.apache.zookeeper.MultiResponse;
import org.apache.zookeeper.proto.*;

public class ZkJuteCheck {
  static byte[] unhex(String s) {
    byte[] out = new byte[s.length() / 2];
    for (int i = 0; i < out.length; i++) {
      out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
    }
    return out;
  }

  static String hex(byte[] b) {
    StringBuilder sb = new StringBuilder();
    for (byte x : b) sb.append(String.format("%02x", x & 0xff));
    return sb.toString();
  }

  // The record of a request body of `type`, or null for one without.
  static Record requestRecord(int type) {
    switch (type) {
      case 1: case 15: case 19: return new CreateRequest();
      case 21: return new CreateTTLRequest();
      case 2: return new DeleteRequest();
      case 3: return new ExistsRequest();
      case 4: return new GetDataRequest();
      case 5: return new SetDataRequest();
      case 6: return new GetACLRequest();
      case 7: return new SetACLRequest();
      case 8: return new GetChildrenRequest();
      case 9: return new SyncRequest();
      case 12: return new GetChildren2Request();
      case 13: return new CheckVersionRequest();
      case 14: case 22: return new MultiOperationRecord();
      case 17: return new CheckWatchesRequest();
      case 18: return new RemoveWatchesRequest();
      case 100: return new AuthPacket();
      case 101: return new SetWatches();
      case 103: return new GetEphemeralsRequest();
      case 104: return new GetAllChildrenNumberRequest();
      case 105: return new SetWatches2();
      case 106: return new AddWatchRequest();
      case 11: case 107: case -11: return null;
      default: throw new IllegalArgumentException("no request record for " + type);
    }
  }

  // The record of a successful reply to a request of `type`, or null.
  static Record replyRecord(int type) {
    switch (type) {
      case 1: return new CreateResponse();
      case 15: case 19: case 21: return new Create2Response();
      case 3: return new ExistsResponse();
      case 4: return new GetDataResponse();
      case 5: case 13: return new SetDataResponse();
      case 6: return new GetACLResponse();
      case 7: return new SetACLResponse();
      case 8: return new GetChildrenResponse();
      case 9: return new SyncResponse();
      case 12: return new GetChildren2Response();
      case 14: case 22: return new MultiResponse();
      case 103: return new GetEphemeralsResponse();
      case 104: return new GetAllChildrenNumberResponse();
      case 107: return new WhoAmIResponse();
      case 2: case 11: case 100: case 101: case 105: case 106: case 17: case 18: case -11:
        return null;
      default: throw new IllegalArgumentException("no reply record for " + type);
    }
  }

  static String check(String[] f) throws Exception {
    byte[] in = unhex(f[f.length - 1]);
    ByteArrayInputStream bin = new ByteArrayInputStream(in);
    BinaryInputArchive ia = BinaryInputArchive.getArchive(bin);
    ByteArrayOutputStream bout = new ByteArrayOutputStream();
    BinaryOutputArchive oa = BinaryOutputArchive.getArchive(bout);
    switch (f[0]) {
      case "request": {
        RequestHeader h = new RequestHeader();
        h.deserialize(ia, "header");
        h.serialize(oa, "header");
        Record r = requestRecord(h.getType());
        if (r != null) {
          r.deserialize(ia, "request");
          r.serialize(oa, "request");
        }
        break;
      }
      case "reply": {
        ReplyHeader h = new ReplyHeader();
        h.deserialize(ia, "header");
        h.serialize(oa, "header");
        Record r = h.getErr() == 0 ? replyRecord(Integer.parseInt(f[1])) : null;
        if (r != null) {
          r.deserialize(ia, "response");
          r.serialize(oa, "response");
        }
        break;
      }
      case "notification": {
        ReplyHeader h = new ReplyHeader();
        h.deserialize(ia, "header");
        h.serialize(oa, "header");
        WatcherEvent e = new WatcherEvent();
        e.deserialize(ia, "response");
        e.serialize(oa, "response");
        break;
      }
      case "connect_request": {
        ConnectRequest c = new ConnectRequest();
        c.deserialize(ia, "connect");
        c.serialize(oa, "connect");
        oa.writeBool(ia.readBool("readOnly"), "readOnly");
        break;
      }
      case "connect_response": {
        ConnectResponse c = new ConnectResponse();
        c.deserialize(ia, "connect");
        c.serialize(oa, "connect");
        oa.writeBool(ia.readBool("readOnly"), "readOnly");
        break;
      }
      default:
        throw new IllegalArgumentException("unknown kind " + f[0]);
    }
    if (bin.available() != 0) {
      return "error " + bin.available() + " bytes left unread";
    }
    return "ok " + hex(bout.toByteArray());
  }

  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(
        new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PrintWriter outFile = new PrintWriter(new FileWriter(args[0]));
    for (String line; (line = in.readLine()) != null;) {
      if (line.isEmpty()) continue;
      String out;
      try {
        out = check(line.split(" "));
      } catch (Exception e) {
        out = "error " + e.toString().replace('\n', ' ');
      }
      outFile.println(out);
    }
    outFile.close();
  }
}
