# FastCUT on Selfie2Anime: CUT with lambda_NCE = 10, no NCE identity term,
# flip equivariance, and 150 + 50 epochs.
_base_ = ['./cut_selfie2anime.py']

model = dict(
    nce_loss=dict(loss_weight=10.0),
    nce_identity=False,
    flip_equivariance=True)
num_epochs_constant = 150
num_epochs_decay = 50
train_cfg = dict(max_epochs=num_epochs_constant + num_epochs_decay)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1.0,
        end_factor=0.0,
        by_epoch=True,
        begin=num_epochs_constant,
        end=num_epochs_constant + num_epochs_decay,
        convert_to_iter_based=True)
]
