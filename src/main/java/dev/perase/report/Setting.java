package dev.perase.report;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.io.BadInputException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * One setting as the report shows it: a dotted key and its value as text.
 *
 * @param key the setting's name, e.g. {@code mask.lr}
 * @param value its value as text
 */
public record Setting(@JsonProperty("key") String key, @JsonProperty("value") String value) {
  public Setting {
    if (key == null || key.isBlank()) {
      throw new BadInputException("a setting needs a key");
    }
    value = value == null ? "null" : value;
  }

  /**
   * A run folder's {@code config.json} as settings: objects flattened to dotted keys ({@code
   * mask.lr}), arrays of scalars joined as {@code [a, b]}, arrays of objects indexed ({@code
   * seeds.0.x}), in the file's order.
   */
  public static List<Setting> flatten(JsonNode config) {
    List<Setting> out = new ArrayList<>();
    flatten("", config, out);
    return List.copyOf(out);
  }

  private static void flatten(String prefix, JsonNode node, List<Setting> out) {
    if (node.isObject()) {
      Iterator<Map.Entry<String, JsonNode>> it = node.fields();
      while (it.hasNext()) {
        Map.Entry<String, JsonNode> e = it.next();
        flatten(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), e.getValue(), out);
      }
    } else if (node.isArray() && containsContainers(node)) {
      for (int i = 0; i < node.size(); i++) {
        flatten(prefix + "." + i, node.get(i), out);
      }
    } else if (node.isArray()) {
      List<String> items = new ArrayList<>();
      node.forEach(n -> items.add(n.asText()));
      out.add(new Setting(key(prefix), "[" + String.join(", ", items) + "]"));
    } else {
      out.add(new Setting(key(prefix), node.isNull() ? "null" : node.asText()));
    }
  }

  private static boolean containsContainers(JsonNode array) {
    for (JsonNode n : array) {
      if (n.isContainerNode()) {
        return true;
      }
    }
    return false;
  }

  private static String key(String prefix) {
    return prefix.isEmpty() ? "value" : prefix;
  }
}
