package dev.perase.model.unet;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Linear;
import dev.perase.model.nn.Taps;
import dev.perase.model.nn.Weights;

/**
 * diffusers' {@code FeedForward} with activation "geglu", mult 4: {@code net = [GEGLU(dim, 4·dim),
 * Dropout, Linear(4·dim, dim)]}, so the parameters are {@code ff.net.0.proj.*} and {@code
 * ff.net.2.*}.
 */
public final class FeedForward {
  public final GEGLU net0;
  public final Linear net2;

  private FeedForward(GEGLU net0, Linear net2) {
    this.net0 = net0;
    this.net2 = net2;
  }

  public static FeedForward load(Weights w, int dim) {
    int inner = 4 * dim;
    Weights net = w.child("net");
    return new FeedForward(
        GEGLU.load(net.child(0), dim, inner), Linear.load(net.child(2), inner, dim));
  }

  public NDArray forward(NDArray hiddenStates, Taps taps) {
    NDArray h = net0.forward(hiddenStates, taps);
    // net.1: dropout (p = 0)
    return net2.forward(h);
  }
}
