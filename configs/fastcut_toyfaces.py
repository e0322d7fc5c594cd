# FastCUT on the toy faces: cut_toyfaces.py with lambda_NCE = 10, no NCE
# identity term and flip equivariance.
_base_ = ['./cut_toyfaces.py']

model = dict(
    nce_loss=dict(
        type='cyclegan_plugin.PatchNCELoss', temperature=0.07,
        loss_weight=10.0),
    nce_identity=False,
    flip_equivariance=True)
