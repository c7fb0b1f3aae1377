//! Every network as a chain of dense layers, weights copied out of burn:
//! batch norms fold into the linear layer before them (their running
//! statistics are constants at inference), dropout is the identity, and the
//! Focused IKNet's two branches become block-diagonal layers (the position
//! branch reads x y z, the orientation branch the quaternion; side by side
//! they are one layer whose off-diagonal weights are zero).

use burn::module::Param;
use burn::nn::{BatchNorm, Linear};
use burn::tensor::Tensor;

use super::{Activation, DenseLayer, Skip};
use crate::models::HiddenActivation;
use crate::models::architecture::Network;

/// The network's layers, or `None` where it has no dense-chain form (a
/// Focused IKNet whose branches differ in depth).
pub fn dense_layers(network: &Network) -> Option<Vec<DenseLayer>> {
    let layers = match network {
        Network::CycleIk(net) => {
            let first_tanh = net.layers.len().saturating_sub(net.n_tanh);
            let hidden = hidden_activation(net.activation);
            net.layers
                .iter()
                .enumerate()
                .map(|(i, l)| linear(l, if i >= first_tanh { Activation::Tanh } else { hidden }))
                .collect()
        }
        Network::IknetOriginal(net) => net
            .hidden
            .iter()
            .map(|l| linear(l, Activation::Relu))
            .chain([linear(&net.output, Activation::Identity)])
            .collect(),
        Network::IknetImproved(net) => {
            let mut layers = vec![normalized(&net.input, &net.input_norm, Skip::None)];
            for block in &net.blocks {
                // relu(BN(L(relu(BN(L(x))))) + x)
                layers.push(normalized(&block.first, &block.first_norm, Skip::Save));
                layers.push(normalized(&block.second, &block.second_norm, Skip::Add));
            }
            layers.push(linear(&net.output, Activation::Identity));
            layers
        }
        Network::IknetFocused(net) => {
            let (position, orientation) = (&net.position_branch, &net.orientation_branch);
            if position.len() != orientation.len() || position.is_empty() {
                return None;
            }
            position
                .iter()
                .zip(orientation)
                .map(|(p, o)| block_diagonal(&linear(p, Activation::Relu), &linear(o, Activation::Relu)))
                .chain(net.head.iter().map(|l| linear(l, Activation::Relu)))
                .chain([linear(&net.output, Activation::Identity)])
                .collect()
        }
    };
    Some(layers)
}

fn hidden_activation(activation: HiddenActivation) -> Activation {
    match activation {
        HiddenActivation::Gelu => Activation::Gelu,
        HiddenActivation::Relu => Activation::Relu,
        HiddenActivation::LeakyRelu => Activation::LeakyRelu,
        HiddenActivation::Celu => Activation::Celu,
        HiddenActivation::Selu => Activation::Selu,
    }
}

fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.into_data().convert::<f32>().try_into_vec::<f32>().unwrap_or_default()
}

fn param_values<const D: usize>(param: &Param<Tensor<D>>) -> Vec<f32> {
    values(param.val())
}

fn linear(layer: &Linear, activation: Activation) -> DenseLayer {
    let [inputs, outputs] = layer.weight.val().dims();
    DenseLayer {
        weights: param_values(&layer.weight),
        bias: layer.bias.as_ref().map(param_values).unwrap_or_else(|| vec![0.0; outputs]),
        inputs,
        outputs,
        activation,
        skip: Skip::None,
    }
}

/// `relu(BN(x · W + b))` as one layer: `BN(v) = (v − μ) · γ / √(σ² + ε) + β`
/// scales each output column of `W` and shifts its bias.
fn normalized(layer: &Linear, norm: &BatchNorm, skip: Skip) -> DenseLayer {
    let mut dense = linear(layer, Activation::Relu);
    let (gamma, beta) = (param_values(&norm.gamma), param_values(&norm.beta));
    let (mean, var) = (values(norm.running_mean.value()), values(norm.running_var.value()));
    let factor: Vec<f32> = gamma.iter().zip(&var).map(|(g, v)| g / (v + norm.epsilon as f32).sqrt()).collect();
    for row in dense.weights.chunks_exact_mut(dense.outputs) {
        row.iter_mut().zip(&factor).for_each(|(w, f)| *w *= f);
    }
    for (j, b) in dense.bias.iter_mut().enumerate() {
        *b = (*b - mean[j]) * factor[j] + beta[j];
    }
    dense.skip = skip;
    dense
}

/// Two layers on disjoint inputs, side by side: `[x_a, x_b] → [a(x_a), b(x_b)]`.
fn block_diagonal(a: &DenseLayer, b: &DenseLayer) -> DenseLayer {
    let (inputs, outputs) = (a.inputs + b.inputs, a.outputs + b.outputs);
    let mut weights = vec![0.0; inputs * outputs];
    for (i, row) in a.weights.chunks_exact(a.outputs).enumerate() {
        weights[i * outputs..][..a.outputs].copy_from_slice(row);
    }
    for (i, row) in b.weights.chunks_exact(b.outputs).enumerate() {
        weights[(a.inputs + i) * outputs + a.outputs..][..b.outputs].copy_from_slice(row);
    }
    DenseLayer {
        weights,
        bias: a.bias.iter().chain(&b.bias).copied().collect(),
        inputs,
        outputs,
        activation: a.activation,
        skip: Skip::None,
    }
}
