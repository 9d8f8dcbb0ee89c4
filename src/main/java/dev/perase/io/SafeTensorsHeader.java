package dev.perase.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;

/**
 * The head of a safetensors file as every perase writer writes it: the header's length as a
 * little-endian u64, then the header JSON padded with spaces to a multiple of 8 bytes, {@code
 * {"__metadata__": {...}, "<name>": {"dtype": ..., "shape": [...], "data_offsets": [begin, end]},
 * ...}}. The metadata (strings) comes first and is left out when empty; the tensors follow in the
 * order they are added, their offsets relative to the start of the data area. {@link
 * SafeTensorsWriter}, the streamed checkpoint writer and {@code mask apply}'s baked UNet all write
 * their headers through this class.
 */
public final class SafeTensorsHeader {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ObjectNode json = JSON.createObjectNode();
  private long dataLength;

  public SafeTensorsHeader(Map<String, String> metadata) {
    if (!metadata.isEmpty()) {
      ObjectNode md = json.putObject("__metadata__");
      metadata.forEach(md::put);
    }
  }

  /** Adds a tensor whose bytes follow the previous tensor's. */
  public SafeTensorsHeader add(String name, DType dtype, long[] shape) {
    long numel = 1;
    for (long d : shape) {
      numel *= d;
    }
    return add(name, dtype, shape, dataLength, dataLength + numel * dtype.bytes);
  }

  /** Adds a tensor at the bytes [begin, end) of the data area (a copied header keeps its spans). */
  public SafeTensorsHeader add(String name, DType dtype, long[] shape, long begin, long end) {
    if (name.equals("__metadata__") || json.has(name)) {
      throw new IllegalArgumentException("duplicate or reserved tensor name '" + name + "'");
    }
    ObjectNode t = json.putObject(name);
    t.put("dtype", dtype.name());
    ArrayNode sh = t.putArray("shape");
    for (long d : shape) {
      sh.add(d);
    }
    ArrayNode offsets = t.putArray("data_offsets");
    offsets.add(begin);
    offsets.add(end);
    dataLength = Math.max(dataLength, end);
    return this;
  }

  /** The length prefix and the padded header JSON: the file's bytes up to its data. */
  public byte[] bytes() {
    byte[] text = json.toString().getBytes(StandardCharsets.UTF_8);
    int padded = (text.length + 7) / 8 * 8;
    byte[] head = new byte[8 + padded];
    ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
    System.arraycopy(text, 0, head, 8, text.length);
    Arrays.fill(head, 8 + text.length, head.length, (byte) ' ');
    return head;
  }
}
