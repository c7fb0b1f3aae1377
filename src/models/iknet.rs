//! The three IKNets for the OpenManipulator-X study (SPEC §1): raw pose in,
//! raw joint values out, trained supervised on joint labels.

use burn::config::Config;
use burn::module::{Initializer, Module};
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::activation::relu;

use super::POSE_INPUT;

/// He (Kaiming) normal initialisation for ReLU networks: std = √(2 / fan_in).
fn kaiming_normal() -> Initializer {
    Initializer::KaimingNormal { gain: std::f64::consts::SQRT_2, fan_out_only: false }
}

// ---------------------------------------------------------------- Original

/// Original IKNet: 7 → 400 → 300 → 200 → 100 → 50 → dof, ReLU and
/// Dropout(0.1) after every hidden layer.
#[derive(Config, Debug, PartialEq)]
pub struct IknetOriginalConfig {
    pub dof: usize,
    #[config(default = "vec![400, 300, 200, 100, 50]")]
    pub hidden: Vec<usize>,
    #[config(default = 0.1)]
    pub dropout: f64,
}

#[derive(Module, Debug)]
pub struct IknetOriginal {
    pub hidden: Vec<Linear>,
    pub dropout: Dropout,
    pub output: Linear,
}

impl IknetOriginalConfig {
    pub fn init(&self, device: &burn::tensor::Device) -> IknetOriginal {
        let hidden =
            widths_chain(POSE_INPUT, &self.hidden).map(|(i, o)| LinearConfig::new(i, o).init(device)).collect();
        let last = self.hidden.last().copied().unwrap_or(POSE_INPUT);
        IknetOriginal {
            hidden,
            dropout: DropoutConfig::new(self.dropout).init(),
            output: LinearConfig::new(last, self.dof).init(device),
        }
    }
}

impl IknetOriginal {
    pub fn forward(&self, pose: Tensor<2>) -> Tensor<2> {
        let x = self.hidden.iter().fold(pose, |x, layer| self.dropout.forward(relu(layer.forward(x))));
        self.output.forward(x)
    }
}

// ---------------------------------------------------------------- Improved

/// Improved IKNet: input layer (Linear–BN–ReLU, then the only dropout),
/// `blocks` residual blocks of `width`, linear output. Kaiming-normal init.
#[derive(Config, Debug, PartialEq)]
pub struct IknetImprovedConfig {
    pub dof: usize,
    #[config(default = 256)]
    pub width: usize,
    #[config(default = 3)]
    pub blocks: usize,
    #[config(default = 0.1)]
    pub dropout: f64,
}

/// Linear–BN–ReLU–Linear–BN plus the identity, then ReLU.
#[derive(Module, Debug)]
pub struct ResidualBlock {
    pub first: Linear,
    pub first_norm: BatchNorm,
    pub second: Linear,
    pub second_norm: BatchNorm,
}

impl ResidualBlock {
    fn new(width: usize, device: &burn::tensor::Device) -> Self {
        let linear = || LinearConfig::new(width, width).with_initializer(kaiming_normal()).init(device);
        Self {
            first: linear(),
            first_norm: BatchNormConfig::new(width).init(device),
            second: linear(),
            second_norm: BatchNormConfig::new(width).init(device),
        }
    }

    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let y = relu(self.first_norm.forward(self.first.forward(x.clone())));
        let y = self.second_norm.forward(self.second.forward(y));
        relu(y + x)
    }
}

#[derive(Module, Debug)]
pub struct IknetImproved {
    pub input: Linear,
    pub input_norm: BatchNorm,
    pub dropout: Dropout,
    pub blocks: Vec<ResidualBlock>,
    pub output: Linear,
}

impl IknetImprovedConfig {
    pub fn init(&self, device: &burn::tensor::Device) -> IknetImproved {
        IknetImproved {
            input: LinearConfig::new(POSE_INPUT, self.width).with_initializer(kaiming_normal()).init(device),
            input_norm: BatchNormConfig::new(self.width).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            blocks: (0..self.blocks).map(|_| ResidualBlock::new(self.width, device)).collect(),
            output: LinearConfig::new(self.width, self.dof).with_initializer(kaiming_normal()).init(device),
        }
    }
}

impl IknetImproved {
    pub fn forward(&self, pose: Tensor<2>) -> Tensor<2> {
        let x = self.dropout.forward(relu(self.input_norm.forward(self.input.forward(pose))));
        let x = self.blocks.iter().fold(x, |x, block| block.forward(x));
        self.output.forward(x)
    }
}

// ---------------------------------------------------------------- Focused

/// Focused IKNet: a position branch (x, y, z) and an orientation branch
/// (qx, qy, qz, qw), each Linear+ReLU layers; their embeddings are concatenated
/// and fed to an MLP head (Linear+ReLU) with a linear output.
#[derive(Config, Debug, PartialEq)]
pub struct IknetFocusedConfig {
    pub dof: usize,
    #[config(default = "vec![128, 128]")]
    pub position_branch: Vec<usize>,
    #[config(default = "vec![128, 128]")]
    pub orientation_branch: Vec<usize>,
    #[config(default = "vec![512, 256, 128]")]
    pub head: Vec<usize>,
}

#[derive(Module, Debug)]
pub struct IknetFocused {
    pub position_branch: Vec<Linear>,
    pub orientation_branch: Vec<Linear>,
    pub head: Vec<Linear>,
    pub output: Linear,
}

impl IknetFocusedConfig {
    pub fn init(&self, device: &burn::tensor::Device) -> IknetFocused {
        let layers = |input: usize, widths: &[usize]| -> Vec<Linear> {
            widths_chain(input, widths).map(|(i, o)| LinearConfig::new(i, o).init(device)).collect()
        };
        let position_out = self.position_branch.last().copied().unwrap_or(3);
        let orientation_out = self.orientation_branch.last().copied().unwrap_or(4);
        let joined = position_out + orientation_out;
        let head_out = self.head.last().copied().unwrap_or(joined);
        IknetFocused {
            position_branch: layers(3, &self.position_branch),
            orientation_branch: layers(4, &self.orientation_branch),
            head: layers(joined, &self.head),
            output: LinearConfig::new(head_out, self.dof).init(device),
        }
    }
}

impl IknetFocused {
    pub fn forward(&self, pose: Tensor<2>) -> Tensor<2> {
        let through = |x: Tensor<2>, layers: &[Linear]| layers.iter().fold(x, |x, l| relu(l.forward(x)));
        let position = through(pose.clone().narrow(1, 0, 3), &self.position_branch);
        let orientation = through(pose.narrow(1, 3, 4), &self.orientation_branch);
        let x = through(Tensor::cat(vec![position, orientation], 1), &self.head);
        self.output.forward(x)
    }
}

/// `(input, output)` widths of consecutive layers starting from `input`.
pub(crate) fn widths_chain(input: usize, widths: &[usize]) -> impl Iterator<Item = (usize, usize)> + '_ {
    std::iter::once(input).chain(widths.iter().copied()).zip(widths.iter().copied())
}
