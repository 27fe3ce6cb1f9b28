// Package train trains the models of package models: the AdamW optimizer
// (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization"), a linear
// warmup followed by cosine decay of the learning rate, global-norm gradient
// clipping, and a training loop that logs metrics to metrics.jsonl, writes
// checkpoints on a schedule that is dense early, where induction heads form
// (Olsson et al. 2022, "In-context Learning and Induction Heads"), stops on a
// NaN or Inf loss, and resumes to exactly the losses of an uninterrupted run.
//
// A run directory looks like this:
//
//	RUN/metrics.jsonl                       one JSON object per step
//	RUN/checkpoints/step-000000/            the initialization
//	RUN/checkpoints/step-000128/
//	    config.json, model.safetensors      models.SaveParams (Hugging Face GPT-2 names)
//	    optimizer.safetensors               AdamW moments, "<param>.exp_avg", "<param>.exp_avg_sq"
//	    training_state.json                 step, tokens seen, data-source state, the schedule
//
// Every checkpoint directory is written under a temporary name and renamed
// into place, so a directory named step-NNNNNN is always complete.
//
// Training is deterministic: given the model's seed, the data source's seed
// and the configuration, every run produces the same losses bit for bit, and
// an interrupted run resumed from a checkpoint continues with them.
//
// Package train does not import package data: a token source only has to
// satisfy the small [Source] interface.
package train
