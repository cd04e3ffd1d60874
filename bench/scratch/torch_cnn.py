import time, torch, torch.nn as nn
torch.set_num_threads(int(__import__('sys').argv[1]) if len(__import__('sys').argv) > 1 else 2)
m = nn.Sequential(nn.Conv2d(1,16,3,padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16,32,3,padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32*7*7,128), nn.ReLU(), nn.Linear(128,10))
opt = torch.optim.Adam(m.parameters(), 1e-3)
x = torch.rand(64,1,28,28); y = torch.randint(0,10,(64,))
lf = nn.CrossEntropyLoss()
def step():
    opt.zero_grad(); l = lf(m(x), y); l.backward(); opt.step(); return l
for _ in range(10): step()
for rep in range(3):
    t=time.perf_counter()
    for _ in range(50): step()
    dt=(time.perf_counter()-t)/50
    print(f"{dt*1000:.1f} ms/step {64/dt:.0f} samples/s")
