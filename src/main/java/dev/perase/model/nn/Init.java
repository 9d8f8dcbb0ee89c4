package dev.perase.model.nn;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Initialisation for training from scratch, drawn from torch's global generator (seed it first):
 * Linear and Conv2d weights Kaiming-uniform with bound 1/√fan_in (torch's default), their biases
 * zero, norms at weight 1 and bias 0, embeddings N(0, 0.02²) as CLIP's.
 */
public final class Init {
  private Init() {}

  public static StateDict.Initializer torchDefaults(NDManager manager) {
    return (key, kind, shape) -> {
      Shape s = new Shape(shape);
      boolean bias = key.endsWith("bias");
      if (kind == null) {
        throw new IllegalStateException("no initialiser for buffer " + key);
      }
      return switch (kind) {
        case LINEAR, CONV -> {
          if (bias) {
            yield manager.zeros(s);
          }
          long fanIn = s.size() / shape[0];
          float bound = (float) (1 / Math.sqrt(fanIn));
          yield manager.randomUniform(-bound, bound, s);
        }
        case NORM -> bias ? manager.zeros(s) : manager.ones(s);
        case EMBEDDING -> manager.randomNormal(0f, 0.02f, s, ai.djl.ndarray.types.DataType.FLOAT32);
      };
    };
  }
}
